#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace assistantd {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricCounter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class MetricHistogram {
 public:
  explicit MetricHistogram(std::vector<double> bounds);
  void Observe(double value);
  // Cumulative bucket counts (one per bound, then +Inf), sum and count.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const;
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& Bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};  // sum kept as integer nano-units to stay lock-free
};

// Prometheus metrics: families are declared once (name, help, type), series are created on
// first use and live as long as the registry. Thread-safe.
class MetricsRegistry {
 public:
  void DeclareCounter(const std::string& name, const std::string& help);
  void DeclareHistogram(const std::string& name, const std::string& help,
                        std::vector<double> bounds);
  // A gauge read when /metrics is rendered, with fixed labels (e.g. a build's version).
  void DeclareGauge(const std::string& name, const std::string& help, std::function<double()> read,
                    const MetricLabels& labels = {});
  // A counter kept elsewhere (e.g. the kernel's CPU time), read when /metrics is rendered.
  void DeclareReadCounter(const std::string& name, const std::string& help,
                          std::function<double()> read);

  MetricCounter& Counter(const std::string& name, const MetricLabels& labels = {});
  MetricHistogram& Histogram(const std::string& name, const MetricLabels& labels = {});

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;

 private:
  enum class Type { kCounter, kHistogram, kGauge, kReadCounter };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;
    std::function<double()> read;
    std::map<std::string, std::unique_ptr<MetricCounter>> counters;  // key: rendered labels
    std::map<std::string, std::unique_ptr<MetricHistogram>> histograms;
    std::string read_labels;  // rendered, for read gauges
  };
  Family& FamilyOrDie(const std::string& name, Type type);

  mutable std::shared_mutex mu_;
  std::map<std::string, Family> families_;
};

// Latency buckets in seconds, 50 µs to 10 s.
std::vector<double> LatencyBuckets();

}  // namespace assistantd
