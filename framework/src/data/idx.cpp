#include "data/idx.hpp"

#include "target_clones.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <graphrun/error.hpp>
#include <sstream>

namespace graphrun::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dims
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dim
constexpr int64_t kMaxSide = 16384;
constexpr int64_t kMaxCount = 0x7fffffff;  // pairs index images with 32 bits

// Reads a raw or gzip file through one interface; gzip is recognised by its 0x1f 0x8b magic.
class ByteReader {
 public:
  ByteReader(const std::string& path, const char* what) : path_(path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
      throw Error(path + ": cannot open " + what + ": " + std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, f);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      std::fclose(f);
      gz_ = gzopen(path.c_str(), "rb");
      if (!gz_) throw Error(path + ": cannot open gzip " + what + ": " + std::strerror(errno));
      gzbuffer(gz_, 1 << 17);
    } else {
      std::rewind(f);
      file_ = f;
    }
  }
  ~ByteReader() {
    if (file_) std::fclose(file_);
    if (gz_) gzclose(gz_);
  }
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  bool gzipped() const { return gz_ != nullptr; }

  // Reads up to n bytes; fewer only at the end of the data.
  size_t read(unsigned char* dst, size_t n) {
    if (file_) {
      const size_t got = std::fread(dst, 1, n, file_);
      if (got < n && std::ferror(file_)) throw Error(path_ + ": read error: " + std::strerror(errno));
      return got;
    }
    size_t total = 0;
    while (total < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
      const int got = gzread(gz_, dst + total, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(gz_, &code);
        // A gzip stream cut short reads as "unexpected end of file": report it as truncation.
        if (code == Z_BUF_ERROR) break;
        std::string what = msg ? msg : "unknown zlib error";
        if (what.rfind(path_ + ": ", 0) == 0) what.erase(0, path_.size() + 2);  // zlib prefixes the path
        throw Error(path_ + ": gzip data is corrupt: " + what);
      }
      if (got == 0) break;
      total += static_cast<size_t>(got);
    }
    return total;
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
};

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Reads the magic and the dims; checks the magic against the expected one.
std::vector<int64_t> read_header(ByteReader& in, const std::string& path, uint32_t expected, const char* what) {
  const int ndims = static_cast<int>(expected & 0xff);
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(ndims);
  unsigned char header[16];
  const size_t got = in.read(header, header_bytes);
  if (got < 4)
    throw Error(path + ": truncated: an IDX " + what + " file starts with a " + std::to_string(header_bytes) +
                "-byte header but the file holds " + std::to_string(got) + " bytes");
  const uint32_t magic = big_endian(header);
  if (magic != expected) {
    std::string hint;
    if (magic == kLabelsMagic) hint = " (that is an IDX labels file: are the images and labels swapped?)";
    else if (magic == kImagesMagic) hint = " (that is an IDX images file: are the images and labels swapped?)";
    else if ((magic & 0xffff0000u) != 0) hint = " (not an IDX file)";
    else if ((magic & 0xff00) != 0x0800) hint = " (an IDX file of another element type; only unsigned bytes are supported)";
    throw Error(path + ": wrong magic number: expected " + hex(expected) + " (IDX " + what + ") but found " +
                hex(magic) + hint);
  }
  if (got < header_bytes)
    throw Error(path + ": truncated: an IDX " + what + " file starts with a " + std::to_string(header_bytes) +
                "-byte header but the file holds " + std::to_string(got) + " bytes");
  std::vector<int64_t> dims(ndims);
  for (int i = 0; i < ndims; ++i) dims[i] = big_endian(header + 4 + 4 * i);
  return dims;
}

// Reads exactly `expected` payload bytes, handing each chunk to `sink`; throws with the
// byte count actually present when the file ends early.
template <class Sink>
void read_payload(ByteReader& in, int64_t expected, const std::string& promise, const std::string& path,
                  Sink&& sink) {
  std::vector<unsigned char> chunk(std::min<int64_t>(expected, 1 << 20));
  int64_t done = 0;
  while (done < expected) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(expected - done, int64_t(chunk.size())));
    const size_t got = in.read(chunk.data(), want);
    sink(chunk.data(), got);
    done += static_cast<int64_t>(got);
    if (got < want) break;
  }
  if (done < expected)
    throw Error(path + ": truncated: header promises " + promise + " (" + std::to_string(expected) +
                " bytes) but the file holds " + std::to_string(done) + " bytes" +
                (in.gzipped() ? " (uncompressed)" : "") + " after the header");
}

void read_images(const std::string& path, ImageSet& set) {
  ByteReader in(path, "IDX images file");
  const std::vector<int64_t> dims = read_header(in, path, kImagesMagic, "images");
  const int64_t count = dims[0], rows = dims[1], cols = dims[2];
  if (count < 1 || count > kMaxCount || rows < 1 || rows > kMaxSide || cols < 1 || cols > kMaxSide)
    throw Error(path + ": absurd dims in header: " + std::to_string(count) + " images of " + std::to_string(rows) +
                "x" + std::to_string(cols) + " (expected 1.." + std::to_string(kMaxCount) + " images of 1.." +
                std::to_string(kMaxSide) + " pixels a side; is this an IDX images file?)");
  const int64_t bytes = count * rows * cols;
  set.count = count;
  set.channels = 1;
  set.rows = rows;
  set.cols = cols;
  set.pixels.clear();
  // Grow with the data rather than trusting the header: a damaged header must not allocate gigabytes.
  set.pixels.reserve(static_cast<size_t>(std::min<int64_t>(bytes, int64_t(1) << 26)));
  const std::string promise =
      std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols);
  read_payload(in, bytes, promise, path,
               [&](const unsigned char* p, size_t n) { set.pixels.insert(set.pixels.end(), p, p + n); });
}

void read_labels(const std::string& path, ImageSet& set) {
  ByteReader in(path, "IDX labels file");
  const std::vector<int64_t> dims = read_header(in, path, kLabelsMagic, "labels");
  const int64_t count = dims[0];
  if (count < 1 || count > kMaxCount)
    throw Error(path + ": absurd dims in header: " + std::to_string(count) + " labels (expected 1.." +
                std::to_string(kMaxCount) + ")");
  set.labels.clear();
  set.labels.reserve(static_cast<size_t>(std::min<int64_t>(count, int64_t(1) << 26)));
  read_payload(in, count, std::to_string(count) + " labels", path, [&](const unsigned char* p, size_t n) {
    set.labels.insert(set.labels.end(), p, p + n);
  });
}

}  // namespace

int32_t ImageSet::num_classes() const {
  int32_t top = -1;
  for (int32_t l : labels) top = std::max(top, l);
  return top + 1;
}

namespace {

GRAPHRUN_TARGET_CLONES("avx512f", "avx2", "default") void bytes_to_unit(const uint8_t* src, size_t n,
                                                                                float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) * ImageSet::kByteScale;
}

}  // namespace

void ImageSet::copy_image(int64_t i, float* dst) const { bytes_to_unit(image(i), size_t(image_size()), dst); }

ImageSet read_idx(const std::string& images_path, const std::string& labels_path) {
  ImageSet set;
  read_images(images_path, set);
  read_labels(labels_path, set);
  if (static_cast<int64_t>(set.labels.size()) != set.count)
    throw Error(images_path + " holds " + std::to_string(set.count) + " images but " + labels_path + " holds " +
                std::to_string(set.labels.size()) + " labels: expected one label per image");
  return set;
}

ImageSet load_idx_folder(const std::string& folder, const std::string& split) {
  namespace fs = std::filesystem;
  std::string prefix;
  if (split == "train") prefix = "train";
  else if (split == "test") prefix = "t10k";
  else throw Error("IDX split must be 'train' or 'test', not '" + split + "'");
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw Error(folder + ": IDX dataset folder not found (expected a folder holding " + prefix +
                "-images-idx3-ubyte and " + prefix + "-labels-idx1-ubyte, raw or .gz)");

  // Returns the first spelling that exists, or throws listing every spelling tried.
  auto find = [&](const std::string& kind, const std::string& dims) {
    std::vector<std::string> names;
    for (const char* sep : {"-", "."})
      for (const char* ext : {"", ".gz"}) names.push_back(prefix + "-" + kind + sep + dims + "-ubyte" + ext);
    for (const std::string& n : names) {
      const fs::path p = fs::path(folder) / n;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    std::ostringstream msg;
    msg << folder << ": no " << split << " " << kind << " file; looked for";
    for (size_t i = 0; i < names.size(); ++i) msg << (i ? ", " : " ") << names[i];
    throw Error(msg.str());
  };
  const std::string images = find("images", "idx3");
  const std::string labels = find("labels", "idx1");
  return read_idx(images, labels);
}

ImageSet slice(const ImageSet& set, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > set.count)
    throw Error("image range [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") is out of range: the set holds " + std::to_string(set.count) + " images (expected 0 <= begin <= end <= " +
                std::to_string(set.count) + ")");
  ImageSet out;
  out.count = end - begin;
  out.channels = set.channels;
  out.rows = set.rows;
  out.cols = set.cols;
  const int64_t size = set.image_size();
  out.pixels.assign(set.pixels.begin() + begin * size, set.pixels.begin() + end * size);
  out.labels.assign(set.labels.begin() + begin, set.labels.begin() + end);
  return out;
}

}  // namespace graphrun::data
