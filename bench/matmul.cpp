// GFLOP/s of our matmul kernels (kernels/matmul.hpp) at the model's shapes
// against OpenBLAS cblas_sgemm at the same shapes and thread count.
//
// Forward is out (N, OC) = inp (N, C) @ W^T; backward is dinp (N, C) += dout @ W
// and dW (OC, C) += dout^T @ inp. Each is timed as the median of repeated calls.
//
//     bench_matmul [--threads 2] [--reps 20]
#include <cblas.h>

#include "common.hpp"

using namespace coconut;

extern "C" void openblas_set_num_threads(int);

namespace {

struct Shape {
  const char* what;
  Index N, C, OC;
};

double time_median(const std::function<void()>& f, int reps) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const double t0 = bench::now_ms();
    f();
    t.push_back(bench::now_ms() - t0);
  }
  return bench::median(t);
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Options o(argc, argv);
  const int reps = o.get("reps", 20);
  openblas_set_num_threads(o.threads);
  const std::vector<Shape> shapes = {
      {"tiny c_attn", 1024, 256, 768},      {"tiny attn.c_proj", 1024, 256, 256}, {"tiny c_fc", 1024, 256, 1024},
      {"tiny mlp.c_proj", 1024, 1024, 256}, {"tiny lm_head", 1024, 256, 512},     {"gpt2 c_attn", 256, 768, 2304},
      {"gpt2 attn.c_proj", 256, 768, 768},  {"gpt2 c_fc", 256, 768, 3072},        {"gpt2 mlp.c_proj", 256, 3072, 768},
      {"gpt2 lm_head", 256, 768, 50304},    {"small c_fc (B=16 T=360)", 5760, 256, 1024},
      {"small c_fc, 1 position (B=16)", 16, 256, 1024}, {"small c_attn, 1 position (B=16)", 16, 256, 768},
  };
  Rng rng(3);
  auto random = [&](Index n) {
    std::vector<float> v(n);
    for (float& x : v) x = float(rng.normal());
    return v;
  };
  std::printf("matmul: GFLOP/s, %d threads (ours: Eigen GEMM via kernels::matmul_*; OpenBLAS: cblas_sgemm)\n",
              o.threads);
  std::printf("%-34s %6s %6s %6s | %8s %8s %6s | %8s %8s %6s\n", "shape", "N", "C", "OC", "fwd ours", "openblas",
              "ratio", "bwd ours", "openblas", "ratio");
  double ours_total = 0, blas_total = 0, flops_total = 0;
  for (const auto& s : shapes) {
    const auto inp = random(s.N * s.C), w = random(s.OC * s.C), dout = random(s.N * s.OC);
    std::vector<float> out(s.N * s.OC), dinp(s.N * s.C), dw(s.OC * s.C);
    const double flops = 2.0 * double(s.N) * double(s.C) * double(s.OC);
    const double f_ours = time_median(
        [&] { kernels::matmul_forward(out.data(), inp.data(), w.data(), (const float*)nullptr, s.N, s.C, s.OC); }, reps);
    const double f_blas = time_median(
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(s.N), int(s.OC), int(s.C), 1.f, inp.data(),
                      int(s.C), w.data(), int(s.C), 0.f, out.data(), int(s.OC));
        },
        reps);
    const double b_ours = time_median(
        [&] {
          kernels::matmul_backward(dinp.data(), dw.data(), (float*)nullptr, dout.data(), inp.data(), w.data(), s.N, s.C,
                                   s.OC);
        },
        reps);
    const double b_blas = time_median(
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.N), int(s.C), int(s.OC), 1.f, dout.data(),
                      int(s.OC), w.data(), int(s.C), 1.f, dinp.data(), int(s.C));
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(s.OC), int(s.C), int(s.N), 1.f, dout.data(),
                      int(s.OC), inp.data(), int(s.C), 1.f, dw.data(), int(s.C));
        },
        reps);
    auto gf = [](double fl, double ms) { return fl / (ms * 1e6); };
    std::printf("%-34s %6ld %6ld %6ld | %8.1f %8.1f %6.2f | %8.1f %8.1f %6.2f\n", s.what, long(s.N), long(s.C),
                long(s.OC), gf(flops, f_ours), gf(flops, f_blas), f_blas / f_ours, gf(2 * flops, b_ours),
                gf(2 * flops, b_blas), b_blas / b_ours);
    ours_total += f_ours + b_ours;
    blas_total += f_blas + b_blas;
    flops_total += 3 * flops;
  }
  // One number: all shapes' forward and backward, time-weighted (total flops / total time).
  const double ours_gf = flops_total / (ours_total * 1e6), blas_gf = flops_total / (blas_total * 1e6);
  std::printf("row matmul %.3f %.3f GFLOP/s %.3f %.1f nan %d\n", ours_gf, blas_gf, ours_gf / blas_gf,
              bench::peak_rss_mb(), o.threads);
  std::printf("speedup matmul: %.3f\n", ours_gf / blas_gf);
}
