// coconut: Chain of Continuous Thought (Hao et al. 2024) on CPUs.
// The whole library: include this one header.
#pragma once

#include "coconut/data/chain.hpp"
#include "coconut/data/layout.hpp"
#include "coconut/io/checkpoint.hpp"
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
#include "coconut/train/progress.hpp"
#include "coconut/train/trainer.hpp"
#include "coconut/data/dataset.hpp"
#include "coconut/data/prontoqa.hpp"
#include "coconut/data/prosqa.hpp"
#include "coconut/data/tasks.hpp"
#include "coconut/data/tokenizer.hpp"
