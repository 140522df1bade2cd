// Batched generation with continuous thoughts: prompts `Q <bot> <latent> x 3 <eot>`
// of ProsQA's length, Small config, greedy decoding of up to 16 new tokens. Ours
// fills the thoughts with the latent loop and decodes every prompt at once over
// the KV cache; the reference runs one prompt at a time and recomputes the whole
// sequence for every new token, as the authors' generate() does. Same parameters,
// same prompts, so both decode the same tokens; the rate is tokens/s.
//
//     bench_generate [--steps 20] [--warmup 2] [--threads 2] [--B 8] [--new 16]
#include "common.hpp"

using namespace coconut;

int main(int argc, char** argv) {
  const bench::Options o(argc, argv);
  const Index B = o.get("B", 8), max_new = o.get("new", 16);
  Rng rng(11);
  std::vector<std::vector<int>> prompts;
  for (Index b = 0; b < B; ++b) {
    auto p = bench::prosqa_question(rng);
    p.push_back(bench::kBot);
    for (int i = 0; i < 3; ++i) p.push_back(bench::kLatent);
    p.push_back(bench::kEot);
    prompts.push_back(p);
  }

  GPT<Small> model;
  model.init(0);
  Generation g;
  auto step = [&] { g = generate<ContinuousThought<1>>(model, prompts, bench::kLatent, bench::kEos, max_new); };

  const std::string batch_file = bench::temp_path("batch"), params_file = bench::temp_path("params");
  bench::write_batch(batch_file, left_padded_batch(prompts, bench::kEos, 0), bench::kLatent);
  bench::write_params(params_file, model.params());

  const auto times = bench::time_steps(step, o.steps, o.warmup);
  bench::Report r;
  r.name = "generate";
  r.unit = "tokens/s";
  r.ours_ms = bench::median(times);
  r.ours_min_ms = *std::min_element(times.begin(), times.end());
  r.ours_rss_mb = bench::peak_rss_mb();
  r.ours_tokens = g.generated_tokens;
  r.steps = o.steps;
  r.threads = o.threads;
  std::printf("generate: config small, %ld prompts of %zu-%zu tokens, 3 thoughts, up to %ld new tokens\n", long(B),
              std::min_element(prompts.begin(), prompts.end(), [](auto& a, auto& b) { return a.size() < b.size(); })->size(),
              std::max_element(prompts.begin(), prompts.end(), [](auto& a, auto& b) { return a.size() < b.size(); })->size(),
              long(max_new));
  std::printf("ours decoded, prompt 0:");
  for (int t : g.tokens[0]) std::printf(" %d", t);
  std::printf("\n");
  const auto theirs = bench::run_references(o, "generate --config small --batch " + batch_file + " --params " +
                                                   params_file + " --eos 0 --max-new-tokens " + std::to_string(max_new));
  std::remove(batch_file.c_str());
  std::remove(params_file.c_str());
  bench::print_report(r, theirs);
}
