#include "data/image_tree.hpp"

#include <graphrun/error.hpp>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

namespace graphrun::data {
namespace fs = std::filesystem;

int64_t ImageTree::images() const {
  int64_t n = 0;
  for (const auto& f : files) n += int64_t(f.size());
  return n;
}

namespace {

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!hidden(it->path())) out.push_back(it->path());
  if (ec) throw Error(dir.string() + ": cannot read the folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The images of one class folder; anything else in it is an error rather than a silent skip.
std::vector<fs::path> class_images(const fs::path& dir) {
  std::vector<fs::path> images;
  for (const auto& e : sorted_entries(dir)) {
    if (is_dir(e)) throw Error(e.string() + ": a folder inside class folder " + dir.string() + " (expected image files only)");
    if (!is_image_file(e.string()))
      throw Error(e.string() + ": not an image file (expected .png, .jpg, .jpeg, .pgm, .ppm, .bmp or .tif in a class folder)");
    images.push_back(e);
  }
  if (images.empty()) throw Error(dir.string() + ": empty class folder (every class needs at least one image)");
  return images;
}

bool holds_images(const fs::path& dir) {
  for (const auto& e : sorted_entries(dir))
    if (!is_dir(e)) return true;
  return false;
}

}  // namespace

ImageTree scan_image_tree(const std::vector<std::string>& roots) {
  if (roots.empty()) throw Error("images: no data path given");
  std::map<std::string, std::map<std::string, std::string>> classes;  // class -> file name -> path
  for (const auto& root_name : roots) {
    const fs::path root(root_name);
    if (!is_dir(root)) throw Error(root_name + ": no such folder (expected a folder of class folders)");
    std::vector<fs::path> top;
    for (const auto& e : sorted_entries(root))
      if (is_dir(e)) top.push_back(e);
    if (top.empty()) throw Error(root_name + ": holds no class folders (expected class/*.png or group/class/*.png)");
    // An empty folder is an empty class folder, wherever it sorts: it decides no level.
    for (const auto& t : top)
      if (sorted_entries(t).empty()) throw Error(t.string() + ": empty class folder (every class needs at least one image)");
    const bool two_levels = !holds_images(top.front());
    for (const auto& t : top) {
      if (!two_levels) {
        if (!holds_images(t))
          throw Error(t.string() + ": holds folders, but " + top.front().string() +
                      " holds images: a root is either class/* or group/class/*, not both");
        auto& files = classes[t.filename().string()];
        for (const auto& f : class_images(t)) files.emplace(f.filename().string(), f.string());
        continue;
      }
      for (const auto& c : sorted_entries(t)) {
        if (!is_dir(c))
          throw Error(c.string() + ": a file where " + root_name + " holds group/class folders (expected a class folder)");
        auto& files = classes[t.filename().string() + "/" + c.filename().string()];
        for (const auto& f : class_images(c)) files.emplace(f.filename().string(), f.string());
      }
    }
  }
  ImageTree tree;
  for (auto& [name, files] : classes) {
    tree.classes.push_back(name);
    tree.files.emplace_back();
    for (auto& [file, path] : files) tree.files.back().push_back(path);
  }
  return tree;
}

ImageSet decode_files(const std::vector<std::string>& files, const std::vector<int32_t>& labels,
                      std::vector<std::string> class_names, const ImageFormat& format, const std::string& what,
                      bool progress) {
  if (format.rows <= 0 || format.cols <= 0) throw Error("images: the image size is not set");
  ImageSet set;
  set.count = int64_t(files.size());
  set.channels = format.channels, set.rows = format.rows, set.cols = format.cols;
  set.labels = labels;
  set.files = files;
  set.class_names = std::move(class_names);
  set.pixels.resize(size_t(set.count * set.image_size()));

  const auto start = std::chrono::steady_clock::now();
  std::atomic<int64_t> done{0}, resized{0}, converted{0};
  std::mutex failure_mutex;
  int64_t failed_index = -1;
  std::string failure;
  DecodeNotes example;
  bool printed = false;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < set.count; ++i) {
    try {
      const DecodeNotes n = decode_image(files[size_t(i)], format, set.pixels.data() + i * set.image_size());
      if (n.resized) ++resized;
      if (n.channels_converted || n.depth_converted) ++converted;
      if ((n.resized || n.channels_converted) && i == 0) example = n;
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (failed_index < 0 || i < failed_index) failed_index = i, failure = e.what();
    }
    const int64_t finished = ++done;
    if (progress && omp_get_thread_num() == 0) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (s > 1.0 && (finished % 64 == 0 || finished == set.count)) {
        std::fprintf(stderr, "\rgraphrun: decoding %s: %lld / %lld images", what.c_str(), (long long)finished, (long long)set.count);
        printed = true;
      }
    }
  }
  if (failed_index >= 0) {
    if (printed) std::fprintf(stderr, "\n");
    throw Error(failure);
  }
  if (progress) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "%sgraphrun: loaded %s: %lld images in %.2f s, %.1f MB as bytes\n", printed ? "\r" : "", what.c_str(),
                 (long long)set.count, s, double(set.pixels.size()) / 1e6);
  }
  if (progress && (resized > 0 || converted > 0)) {
    std::fprintf(stderr, "graphrun: note: %s: %lld of %lld images resized to %lldx%lld, %lld converted to %lld channel(s)",
                 what.c_str(), (long long)resized.load(), (long long)set.count, (long long)format.rows, (long long)format.cols,
                 (long long)converted.load(), (long long)format.channels);
    if (example.source_rows) std::fprintf(stderr, " (the first was %lldx%lld, %lld channel(s))", (long long)example.source_rows,
                                          (long long)example.source_cols, (long long)example.source_channels);
    std::fprintf(stderr, "\n");
  }
  return set;
}

ImageSet decode_tree(const ImageTree& tree, const ImageFormat& format, const std::string& what, bool progress) {
  std::vector<std::string> files;
  std::vector<int32_t> labels;
  for (size_t c = 0; c < tree.files.size(); ++c)
    for (const auto& f : tree.files[c]) files.push_back(f), labels.push_back(int32_t(c));
  return decode_files(files, labels, tree.classes, format, what, progress);
}

ImageSet select_images(const ImageSet& set, const std::vector<int64_t>& indices, bool relabel) {
  ImageSet out;
  out.count = int64_t(indices.size());
  out.channels = set.channels, out.rows = set.rows, out.cols = set.cols;
  const int64_t size = set.image_size();
  out.pixels.resize(size_t(out.count * size));
  std::map<int32_t, int32_t> renumber;
  for (int64_t k = 0; k < out.count; ++k) {
    const int64_t i = indices[size_t(k)];
    if (i < 0 || i >= set.count) throw Error("select_images: index " + std::to_string(i) + " is outside the set");
    std::copy_n(set.image(i), size, out.pixels.data() + k * size);
    int32_t label = set.labels[size_t(i)];
    if (relabel) {
      auto it = renumber.emplace(label, int32_t(renumber.size())).first;
      if (it->second == int32_t(out.class_names.size()) && size_t(label) < set.class_names.size())
        out.class_names.push_back(set.class_names[size_t(label)]);
      label = it->second;
    }
    out.labels.push_back(label);
    if (!set.files.empty()) out.files.push_back(set.files[size_t(i)]);
  }
  if (!relabel) out.class_names = set.class_names;
  return out;
}

}  // namespace graphrun::data
