// coconut: Chain of Continuous Thought (Hao et al. 2024) on CPUs.
// The whole library: include this one header.
#pragma once

#include "coconut/kernels.hpp"
#include "coconut/model/config.hpp"
#include "coconut/model/gpt.hpp"
#include "coconut/nn/block.hpp"
#include "coconut/tensor/arena.hpp"
#include "coconut/tensor/random.hpp"
#include "coconut/thought/generate.hpp"
#include "coconut/thought/inspect.hpp"
#include "coconut/thought/policies.hpp"
#include "coconut/train/optimizer.hpp"
