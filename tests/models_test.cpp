// The models shipped in examples/models/ still score what their README records
// on the official ProsQA validation set (300 questions, never trained on), so a
// change to the library that alters what they compute is caught here.
//
// examples/models/models.json lists each model with its model config and the
// validation accuracy and option-choice accuracy measured when it was committed.
#define BOOST_TEST_MODULE models
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "coconut/coconut.hpp"

using namespace coconut;

namespace {

const std::string kModels = COCONUT_TEST_DATA "/../examples/models/";
const std::string kValid = COCONUT_TEST_DATA "/../../shared/data/prosqa_valid.json";

nlohmann::json shipped() {
  std::ifstream in(kModels + "models.json");
  if (!in) throw std::runtime_error("cannot read " + kModels + "models.json");
  return nlohmann::json::parse(in);
}

}  // namespace

BOOST_AUTO_TEST_CASE(shipped_models_score_as_recorded) {
  const auto valid = load_json(kValid);
  BOOST_REQUIRE_EQUAL(valid.size(), 300u);
  const nlohmann::json models = shipped();
  BOOST_REQUIRE(models.size() >= 2);  // Coconut and No-CoT at least
  for (const auto& entry : models) {
    const std::string file = entry.at("file");
    BOOST_TEST_CONTEXT(file) {
      const ModelScore s = with_word_config(saved_model_config(kModels + file), [&]<class Config>() {
        TrainedModel<Config> model(kModels + file);
        BOOST_TEST(model.settings().method == entry.at("method").get<std::string>());
        return model.score(valid, -1, kValid);
      });
      BOOST_TEST_MESSAGE(file << ": " << 100 * s.accuracy << "% exact, " << 100 * s.choice << "% chose the target");
      // Equal up to one question: another thread count may sum in another order,
      // which can flip a near tie in greedy decoding.
      const double one = 1.0 / double(valid.size()) + 1e-9;
      BOOST_TEST(std::abs(s.accuracy - entry.at("valid_accuracy").get<double>()) <= one);
      BOOST_TEST(std::abs(s.choice - entry.at("valid_choice").get<double>()) <= one);
    }
  }
}

// A shipped model records the shape it was written for (models.json says which),
// and refuses another shape, naming the file and its own shape.
BOOST_AUTO_TEST_CASE(wrong_shape_is_named) {
  for (const auto& entry : shipped()) {
    const std::string file = entry.at("file"), config = entry.at("config");
    BOOST_TEST_CONTEXT(file) {
      BOOST_TEST(saved_model_config(kModels + file) == config);
      BOOST_CHECK_EXCEPTION(TrainedModel<Small>(kModels + file), std::runtime_error, [&](const std::runtime_error& e) {
        const std::string m = e.what();
        return m.find(file) != std::string::npos && m.find("'" + config + "'") != std::string::npos;
      });
    }
  }
}
