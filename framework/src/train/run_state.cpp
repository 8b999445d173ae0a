#include "train/run_state.hpp"

#include <graphrun/error.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace graphrun {

namespace {

// %.17g reads back to the same double (and inf / nan to themselves): a resumed run's
// figures and callback thresholds are the uninterrupted run's exactly.
std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct Reader {
  const std::map<std::string, std::string>& m;
  const std::string& path;

  Error bad(const std::string& key, const std::string& what) const {
    return Error(path + ": not a resumable checkpoint: __metadata__ '" + key + "' " + what);
  }
  const std::string& text(const std::string& key) const {
    auto it = m.find(key);
    if (it == m.end()) throw bad(key, "is missing (was the file written by `graphrun train` of this version?)");
    return it->second;
  }
  double real(const std::string& key, const std::string& v) const {
    errno = 0;
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno == ERANGE) throw bad(key, "must be a number, got '" + v + "'");
    return d;
  }
  int64_t integer(const std::string& key, const std::string& v) const {
    errno = 0;
    char* end = nullptr;
    const long long i = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno == ERANGE || i < 0) throw bad(key, "must be a non-negative integer, got '" + v + "'");
    return i;
  }
  double real(const std::string& key) const { return real(key, text(key)); }
  int64_t integer(const std::string& key) const { return integer(key, text(key)); }
  std::vector<std::string> list(const std::string& key) const {
    std::vector<std::string> out;
    std::stringstream in(text(key));
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
  }
};

nlohmann::json record_json(const EpochRecord& r) {
  nlohmann::json figures = nlohmann::json::object();
  for (const auto& [k, v] : r.figures) figures[k] = exact(v);
  return {{"epoch", r.epoch},           {"loss", exact(r.loss)},
          {"accuracy", exact(r.accuracy)}, {"val_loss", exact(r.val_loss)},
          {"val_accuracy", exact(r.val_accuracy)}, {"seconds", exact(r.seconds)},
          {"has_validation", r.has_validation}, {"learning_rate", exact(r.learning_rate)},
          {"figures", figures}};
}

EpochRecord record_from(const nlohmann::json& j, const Reader& in) {
  const std::string key = "run_records";
  auto real = [&](const nlohmann::json& v) { return in.real(key, v.get<std::string>()); };
  EpochRecord r{};
  r.epoch = j.at("epoch").get<int64_t>();
  r.loss = real(j.at("loss"));
  r.accuracy = real(j.at("accuracy"));
  r.val_loss = real(j.at("val_loss"));
  r.val_accuracy = real(j.at("val_accuracy"));
  r.seconds = real(j.at("seconds"));
  r.has_validation = j.at("has_validation").get<bool>();
  r.learning_rate = real(j.at("learning_rate"));
  for (const auto& [k, v] : j.at("figures").items()) r.figures[k] = real(v);
  return r;
}

}  // namespace

void put_run_state(const RunState& s, std::map<std::string, std::string>& m) {
  m["run_epoch"] = std::to_string(s.epoch);
  m["run_epoch_step"] = std::to_string(s.epoch_step);
  m["run_epochs"] = std::to_string(s.epochs);
  m["run_stopped"] = s.stopped ? "1" : "0";
  m["run_plateau_factor"] = exact(s.plateau_factor);
  m["run_elapsed_seconds"] = exact(s.elapsed_seconds);
  m["run_epoch_seconds"] = exact(s.epoch_seconds);
  m["run_loss_sum"] = exact(s.sums.loss_sum);
  m["run_loss_count"] = std::to_string(s.sums.loss_count);
  m["run_predictions"] = std::to_string(s.sums.total);
  std::string confusion;
  for (int64_t v : s.sums.confusion) confusion += (confusion.empty() ? "" : ",") + std::to_string(v);
  m["run_confusion"] = confusion;
  if (s.stopper)
    m["run_early_stopping"] = std::to_string(s.stopper->wait) + "," + std::to_string(s.stopper->best_epoch) + "," +
                              exact(s.stopper->best) + "," + (s.stopper->stopped ? "1" : "0");
  if (s.plateau)
    m["run_reduce_lr"] = std::to_string(s.plateau->wait) + "," + std::to_string(s.plateau->cooldown_counter) + "," + exact(s.plateau->best);
  nlohmann::json records = nlohmann::json::array();
  for (const EpochRecord& r : s.records) records.push_back(record_json(r));
  m["run_records"] = records.dump();
  m["run_data_hash"] = s.data_hash;
  m["run_data_path"] = s.data_path;
  m["run_threads"] = std::to_string(s.threads);
}

RunState get_run_state(const std::map<std::string, std::string>& m, const std::string& path) {
  const Reader in{m, path};
  RunState s;
  s.epoch = in.integer("run_epoch");
  s.epoch_step = in.integer("run_epoch_step");
  s.epochs = in.integer("run_epochs");
  s.stopped = in.integer("run_stopped") != 0;
  s.plateau_factor = in.real("run_plateau_factor");
  s.elapsed_seconds = in.real("run_elapsed_seconds");
  s.epoch_seconds = in.real("run_epoch_seconds");
  s.sums.loss_sum = in.real("run_loss_sum");
  s.sums.loss_count = in.integer("run_loss_count");
  s.sums.total = in.integer("run_predictions");
  for (const std::string& v : in.list("run_confusion")) s.sums.confusion.push_back(in.integer("run_confusion", v));
  if (m.count("run_early_stopping")) {
    const auto v = in.list("run_early_stopping");
    if (v.size() != 4) throw in.bad("run_early_stopping", "must hold wait,best_epoch,best,stopped");
    s.stopper = EarlyStopping::State{in.integer("run_early_stopping", v[0]), in.integer("run_early_stopping", v[1]),
                                     in.real("run_early_stopping", v[2]), in.integer("run_early_stopping", v[3]) != 0};
  }
  if (m.count("run_reduce_lr")) {
    const auto v = in.list("run_reduce_lr");
    if (v.size() != 3) throw in.bad("run_reduce_lr", "must hold wait,cooldown,best");
    s.plateau = ReduceLROnPlateau::State{in.integer("run_reduce_lr", v[0]), in.integer("run_reduce_lr", v[1]),
                                         in.real("run_reduce_lr", v[2])};
  }
  try {
    for (const auto& r : nlohmann::json::parse(in.text("run_records"))) s.records.push_back(record_from(r, in));
  } catch (const nlohmann::json::exception& e) {
    throw in.bad("run_records", std::string("is malformed (") + e.what() + ")");
  }
  if (int64_t(s.records.size()) != s.epoch)
    throw in.bad("run_records", "holds " + std::to_string(s.records.size()) + " epochs but run_epoch is " + std::to_string(s.epoch));
  s.data_hash = in.text("run_data_hash");
  s.data_path = in.text("run_data_path");
  s.threads = int(in.integer("run_threads"));
  return s;
}

std::string text_hash(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string file_hash(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot read the graph file");
  std::ostringstream text;
  text << f.rdbuf();
  return text_hash(text.str());
}

std::string data_hash(const data::ImageSet& images, const std::vector<data::Pair>& pairs) {
  std::string bytes = std::to_string(images.count) + ":";
  bytes.reserve(bytes.size() + images.labels.size() * 4 + pairs.size() * 12);
  auto put = [&bytes](const void* p, size_t n) { bytes.append(static_cast<const char*>(p), n); };
  for (int32_t label : images.labels) put(&label, sizeof label);
  for (const data::Pair& p : pairs) put(&p, sizeof p);
  return text_hash(bytes);
}

}  // namespace graphrun
