#pragma once
// Which batch field feeds which graph input (the one table of `feed` names), and copying a
// batch of pairs into a plan's graph inputs.
#include "data/batches.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"

#include <optional>
#include <string>

namespace graphrun {

// The fields of a data::Batch: image a, image b, the pair label, image a's class.
enum class BatchField { left, right, label, klass };

// What a `feed` name means: left or image (image a), right (image b), label, class;
// nullopt for any other name.
std::optional<BatchField> batch_field(const std::string& feed);
// Every name batch_field knows, for error messages: "left, right, image, label, class".
const std::string& batch_field_names();
// Fields of one value per example (label, class), as opposed to images.
bool is_label_field(BatchField f);
bool is_label_feed(const std::string& feed);
bool is_image_feed(const std::string& feed);
// The graph input fed the label or the class (the last one), -1 when there is none.
int label_input(const Model& model);

// Each graph input takes the field its `feed` names (DataSource has checked that it names
// one). Image rows are copied on all compute threads.
void feed_batch(const Model& model, Plan& plan, const data::Batch& batch);

}  // namespace graphrun
