// What validating an assistant with Vapi's schema costs per write, for the corpus's shapes.
#include <benchmark/benchmark.h>

#include "corpus/vapi_corpus.hpp"
#include "domain/assistant.hpp"
#include "domain/vapi_schema.hpp"

namespace {

using nlohmann::json;

// The largest realistic assistant of the corpus (a support agent with tools).
void Validate(benchmark::State& state) {
  const json& a = assistantd::testing::VapiCorpus()["valid"].back()["assistant"];
  assistantd::domain::VapiSchema();  // compiled once at startup, not per write
  for (auto _ : state) benchmark::DoNotOptimize(assistantd::domain::ValidateFields(a));
}
BENCHMARK(Validate);

void ValidateCorpus(benchmark::State& state) {
  const json& valid = assistantd::testing::VapiCorpus()["valid"];
  for (auto _ : state) {
    for (const auto& e : valid)
      benchmark::DoNotOptimize(assistantd::domain::ValidateFields(e["assistant"]));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(valid.size()));
}
BENCHMARK(ValidateCorpus);

void CompileSchema(benchmark::State& state) {
  for (auto _ : state) {
    const auto doc = json::parse(assistantd::domain::VapiSchemaDocument());
    benchmark::DoNotOptimize(assistantd::domain::JsonSchema::Compile(doc));
  }
}
BENCHMARK(CompileSchema)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
