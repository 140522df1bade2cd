// All kernels: each a plain reference (namespace coconut::kernels::reference) and a
// fast version with the same signature (namespace coconut::kernels); the rotary
// position embedding, a few multiplications per element, has the one version.
#pragma once

#include "coconut/kernels/adamw.hpp"
#include "coconut/kernels/attention.hpp"
#include "coconut/kernels/crossentropy.hpp"
#include "coconut/kernels/gelu.hpp"
#include "coconut/kernels/layernorm.hpp"
#include "coconut/kernels/matmul.hpp"
#include "coconut/kernels/residual.hpp"
#include "coconut/kernels/rotary.hpp"
#include "coconut/kernels/simd.hpp"
#include "coconut/kernels/softmax.hpp"
