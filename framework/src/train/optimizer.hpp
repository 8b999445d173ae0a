#pragma once
// SGD (momentum), Adam and RMSprop with Keras's defaults and update rules.
#include "graph/model.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graphrun {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates every trainable parameter in place (L2 gradients are added before: regularization.hpp).
  void step(std::vector<Parameter>& params);
  // Per-parameter state tensors ("m", "v", ...) for checkpoints, keyed "<param>/<slot>",
  // in row-major order whatever the parameter's layout.
  std::map<std::string, std::vector<float>> state(const std::vector<Parameter>& params);
  // Sets one of them; false when the key is unknown or the size differs.
  bool set_state(const std::vector<Parameter>& params, const std::string& key, const std::vector<float>& plain);
  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t t) { iterations_ = t; }
  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr) { lr_ = lr; }

 protected:
  explicit Optimizer(double lr) : lr_(lr) {}
  virtual std::vector<std::string> slot_names() const = 0;
  virtual void update(float* w, const float* g, std::vector<std::vector<float>>& slots, size_t n) = 0;
  double lr_;
  int64_t iterations_ = 0;

 private:
  std::vector<std::vector<std::vector<float>>> slots_;  // [param][slot][element]
  std::vector<dnnl::memory::desc> slot_layouts_;         // [param]: the layout of its slots
  void ensure_slots(const std::vector<Parameter>& params);
};

// name: sgd | adam | rmsprop; args override the Keras defaults (learning_rate, momentum,
// beta_1, beta_2, rho, epsilon). Unknown names or arguments throw Error.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const std::map<std::string, double>& args);

// Why a setting is refused ("" when it is fine): an unknown optimizer (key empty checks the
// name alone), an unknown key, or a value out of range (learning_rate and epsilon > 0;
// rho, momentum, beta_1, beta_2 in [0, 1); nesterov 0 or 1; NaN never).
std::string optimizer_setting_error(const std::string& name, const std::string& key, double value);

}  // namespace graphrun
