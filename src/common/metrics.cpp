#include "common/metrics.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace assistantd {
namespace {

std::string RenderLabels(const MetricLabels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (const char c : labels[i].second) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// Inserts an extra label into an already rendered label set.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

}  // namespace

MetricHistogram::MetricHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void MetricHistogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(std::max(0.0, value) * 1e9),
                       std::memory_order_relaxed);
}

std::vector<uint64_t> MetricHistogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double MetricHistogram::Sum() const {
  return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
}

void MetricsRegistry::DeclareCounter(const std::string& name, const std::string& help) {
  std::unique_lock lock(mu_);
  families_.try_emplace(name, Family{Type::kCounter, help, {}, {}, {}, {}, {}});
}

void MetricsRegistry::DeclareHistogram(const std::string& name, const std::string& help,
                                       std::vector<double> bounds) {
  std::unique_lock lock(mu_);
  families_.try_emplace(name, Family{Type::kHistogram, help, std::move(bounds), {}, {}, {}, {}});
}

void MetricsRegistry::DeclareGauge(const std::string& name, const std::string& help,
                                   std::function<double()> read, const MetricLabels& labels) {
  std::unique_lock lock(mu_);
  families_.insert_or_assign(
      name, Family{Type::kGauge, help, {}, std::move(read), {}, {}, RenderLabels(labels)});
}

void MetricsRegistry::DeclareReadCounter(const std::string& name, const std::string& help,
                                         std::function<double()> read) {
  std::unique_lock lock(mu_);
  families_.insert_or_assign(name,
                             Family{Type::kReadCounter, help, {}, std::move(read), {}, {}, {}});
}

MetricsRegistry::Family& MetricsRegistry::FamilyOrDie(const std::string& name, Type type) {
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != type) {
    // A programming error (metric used before being declared), never caused by input.
    throw std::logic_error("metric not declared: " + name);
  }
  return it->second;
}

MetricCounter& MetricsRegistry::Counter(const std::string& name, const MetricLabels& labels) {
  const std::string key = RenderLabels(labels);
  {
    std::shared_lock lock(mu_);
    auto& family = FamilyOrDie(name, Type::kCounter);
    if (auto it = family.counters.find(key); it != family.counters.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = FamilyOrDie(name, Type::kCounter).counters[key];
  if (!slot) slot = std::make_unique<MetricCounter>();
  return *slot;
}

MetricHistogram& MetricsRegistry::Histogram(const std::string& name, const MetricLabels& labels) {
  const std::string key = RenderLabels(labels);
  {
    std::shared_lock lock(mu_);
    auto& family = FamilyOrDie(name, Type::kHistogram);
    if (auto it = family.histograms.find(key); it != family.histograms.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& family = FamilyOrDie(name, Type::kHistogram);
  auto& slot = family.histograms[key];
  if (!slot) slot = std::make_unique<MetricHistogram>(family.bounds);
  return *slot;
}

std::string MetricsRegistry::Render() const {
  std::shared_lock lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    switch (family.type) {
      case Type::kCounter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [labels, c] : family.counters) {
          out += name + labels + " " + std::to_string(c->Value()) + "\n";
        }
        break;
      case Type::kGauge:
      case Type::kReadCounter:
        out += "# TYPE " + name + (family.type == Type::kGauge ? " gauge\n" : " counter\n");
        out += name + family.read_labels + " " + FormatDouble(family.read()) + "\n";
        break;
      case Type::kHistogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [labels, h] : family.histograms) {
          const auto counts = h->CumulativeCounts();
          for (size_t i = 0; i < counts.size(); ++i) {
            const double le = i < h->Bounds().size() ? h->Bounds()[i] : INFINITY;
            out += name + "_bucket" + WithLabel(labels, "le=\"" + FormatDouble(le) + "\"") + " " +
                   std::to_string(counts[i]) + "\n";
          }
          out += name + "_sum" + labels + " " + FormatDouble(h->Sum()) + "\n";
          out += name + "_count" + labels + " " + std::to_string(h->Count()) + "\n";
        }
        break;
    }
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

}  // namespace assistantd
