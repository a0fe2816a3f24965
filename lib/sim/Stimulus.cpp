//===- Stimulus.cpp - stimulus files and the seeded random stream ---------===//
//
// See Stimulus.h for both formats. The random stream is the contract shared with the
// Verilator and Icarus harnesses (bench, differential tests), so it is kept exactly as
// documented: one splitmix64 stream, inputs in port order, words low first, masked.
//
//===----------------------------------------------------------------------===//
#include "sim/Stimulus.h"

#include <algorithm>
#include <cctype>

namespace tessera::sim {

bool isResetName(std::string_view name, bool &activeLow) {
  std::string n;
  for (char c : name)
    n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char *kHigh[] = {"rst", "reset", "arst"};
  static const char *kLow[] = {"rst_n", "reset_n", "rstn", "resetn", "arst_n"};
  for (const char *h : kHigh)
    if (n == h) {
      activeLow = false;
      return true;
    }
  for (const char *l : kLow)
    if (n == l) {
      activeLow = true;
      return true;
    }
  return false;
}

RandomStimulus::RandomStimulus(std::vector<InputDesc> dataInputs, uint64_t seed,
                               uint32_t resetCycles)
    : inputs_(std::move(dataInputs)), state_(seed), resetCycles_(resetCycles) {
  size_t words = 0;
  for (const InputDesc &in : inputs_) {
    bool low = false;
    bool rst = isResetName(in.name, low);
    isReset_.push_back(rst);
    activeLow_.push_back(low);
    values_.emplace_back(in.width, 0);
    offsets_.push_back(words);
    words += (in.width + 63) / 64;
  }
  words_.assign(words, 0);
}

const std::vector<uint64_t> &RandomStimulus::nextWords() {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    uint32_t w = inputs_[i].width;
    size_t n = (w + 63) / 64;
    uint64_t *out = words_.data() + offsets_[i];
    if (isReset_[i]) {
      bool active = cycle_ < resetCycles_;
      for (size_t k = 0; k < n; ++k)
        out[k] = 0;
      out[0] = active != activeLow_[i] ? 1 : 0;
      continue;
    }
    for (size_t k = 0; k < n; ++k)
      out[k] = splitmix64(state_);
    if (w % 64)
      out[n - 1] &= (uint64_t(1) << (w % 64)) - 1;
  }
  ++cycle_;
  return words_;
}

const std::vector<hw::BitVec> &RandomStimulus::next() {
  const std::vector<uint64_t> &w = nextWords();
  std::vector<uint64_t> buf;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    size_t n = (inputs_[i].width + 63) / 64;
    if (n == 1) {
      values_[i] = hw::BitVec(inputs_[i].width, w[offsets_[i]]);
    } else {
      buf.assign(w.begin() + offsets_[i], w.begin() + offsets_[i] + n);
      values_[i] = hw::BitVec::fromWords(inputs_[i].width, buf);
    }
  }
  return values_;
}

namespace {

struct Token {
  std::string_view text;
  size_t offset = 0; ///< byte offset in the whole file
};

class StimulusParser {
public:
  StimulusParser(std::string_view text, const std::string &path,
                 const std::vector<InputDesc> &inputs, const std::vector<InputDesc> &outputs)
      : text_(text), path_(path), inputs_(inputs), outputs_(outputs) {}

  Expected<StimulusFile> parse() {
    StimulusFile f;
    f.path = path_;
    size_t pos = 0;
    uint32_t lineNo = 0;
    bool haveInputs = false, haveExpect = false, haveData = false;
    while (pos <= text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos)
        end = text_.size();
      ++lineNo;
      std::string_view line = text_.substr(pos, end - pos);
      size_t lineStart = pos;
      pos = end + 1;
      if (size_t hash = line.find('#'); hash != std::string_view::npos)
        line = line.substr(0, hash);
      std::vector<Token> toks = tokenize(line, lineStart);
      if (toks.empty()) {
        if (end == text_.size())
          break;
        continue;
      }
      std::string_view head = toks[0].text;
      if (head == "inputs" || head == "expect") {
        bool isInputs = head == "inputs";
        if (haveData)
          return error("stimulus-syntax",
                       "'" + std::string(head) + "' must come before the first value line",
                       toks[0].offset);
        if (isInputs ? haveInputs : haveExpect)
          return error("stimulus-syntax", "duplicate '" + std::string(head) + "' line",
                       toks[0].offset);
        const std::vector<InputDesc> &ports = isInputs ? inputs_ : outputs_;
        std::vector<std::string> &names = isInputs ? f.inputs : f.expects;
        std::vector<uint32_t> &widths = isInputs ? inWidths_ : outWidths_;
        for (size_t i = 1; i < toks.size(); ++i) {
          std::string name(toks[i].text);
          auto it = std::find_if(ports.begin(), ports.end(),
                                 [&](const InputDesc &p) { return p.name == name; });
          if (it == ports.end()) {
            std::vector<std::string> cands;
            for (const InputDesc &p : ports)
              cands.push_back(p.name);
            std::string msg =
                std::string(isInputs ? "unknown input" : "unknown output") + " '" + name + "'";
            std::string hint = closestMatch(name, cands);
            if (!hint.empty())
              msg += "; did you mean '" + hint + "'?";
            return error(isInputs ? "unknown-input" : "unknown-output", msg, toks[i].offset);
          }
          if (std::find(names.begin(), names.end(), name) != names.end())
            return error("stimulus-syntax", "'" + name + "' is listed twice", toks[i].offset);
          names.push_back(name);
          widths.push_back(it->width);
        }
        (isInputs ? haveInputs : haveExpect) = true;
        continue;
      }
      if (!haveInputs)
        return error("stimulus-syntax", "expected an 'inputs' line before the first values",
                     toks[0].offset);
      haveData = true;
      StimulusFile::Line l;
      l.lineNo = lineNo;
      size_t i = 0;
      for (; i < toks.size() && toks[i].text != "|"; ++i) {
        if (l.in.size() == f.inputs.size())
          return error("value-count",
                       "too many input values: " + std::to_string(f.inputs.size()) + " expected",
                       toks[i].offset);
        auto v = value(toks[i], inWidths_[l.in.size()], f.inputs[l.in.size()], false);
        if (!v.ok())
          return std::move(v).takeError();
        l.in.push_back(**v);
      }
      if (l.in.size() != f.inputs.size())
        return error("value-count",
                     "expected " + std::to_string(f.inputs.size()) + " input values, got " +
                         std::to_string(l.in.size()),
                     i < toks.size() ? toks[i].offset : lineStart + line.size());
      if (i < toks.size()) {
        size_t bar = toks[i].offset;
        if (!haveExpect)
          return error("stimulus-syntax", "expected values given but there is no 'expect' line",
                       bar);
        for (++i; i < toks.size(); ++i) {
          if (l.expect.size() == f.expects.size())
            return error("value-count",
                         "too many expected values: " + std::to_string(f.expects.size()) +
                             " expected",
                         toks[i].offset);
          if (toks[i].text == "|")
            return error("stimulus-syntax", "a second '|'", toks[i].offset);
          auto v = value(toks[i], outWidths_[l.expect.size()], f.expects[l.expect.size()], true);
          if (!v.ok())
            return std::move(v).takeError();
          l.expect.push_back(*v);
        }
        if (l.expect.size() != f.expects.size())
          return error("value-count",
                       "expected " + std::to_string(f.expects.size()) +
                           " expected values after '|', got " + std::to_string(l.expect.size()),
                       lineStart + line.size());
      }
      f.lines.push_back(std::move(l));
      if (end == text_.size())
        break;
    }
    if (!haveInputs)
      return error("stimulus-syntax", "no 'inputs' line", 0);
    return f;
  }

private:
  std::vector<Token> tokenize(std::string_view line, size_t base) {
    std::vector<Token> toks;
    size_t i = 0;
    while (i < line.size()) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (std::isspace(c)) {
        ++i;
        continue;
      }
      if (c == '|') {
        toks.push_back({line.substr(i, 1), base + i});
        ++i;
        continue;
      }
      size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j])) &&
             line[j] != '|')
        ++j;
      toks.push_back({line.substr(i, j - i), base + i});
      i = j;
    }
    return toks;
  }

  /// A value token; nullopt for "x" when allowed.
  Expected<std::optional<hw::BitVec>> value(const Token &t, uint32_t width, const std::string &name,
                                            bool allowX) {
    if (allowX && (t.text == "x" || t.text == "X"))
      return std::optional<hw::BitVec>();
    auto v = hw::BitVec::parse(t.text, width);
    if (!v)
      return error("bad-value",
                   "'" + std::string(t.text) + "' is not a " + std::to_string(width) +
                       "-bit value for '" + name + "' (decimal, 0x hex or 0b binary" +
                       (allowX ? ", or x" : "") + ")",
                   t.offset);
    return std::optional<hw::BitVec>(*v);
  }

  Diagnostic error(const std::string &id, const std::string &msg, size_t offset) {
    SourceLoc loc = locateOffset(text_, offset, path_);
    return Diagnostic::error(id, msg, loc).withSourceLine(sourceLineAt(text_, loc.line));
  }

  std::string_view text_;
  const std::string &path_;
  const std::vector<InputDesc> &inputs_;
  const std::vector<InputDesc> &outputs_;
  std::vector<uint32_t> inWidths_, outWidths_;
};

} // namespace

Expected<StimulusFile> parseStimulus(std::string_view text, const std::string &path,
                                     const std::vector<InputDesc> &inputs,
                                     const std::vector<InputDesc> &outputs) {
  return StimulusParser(text, path, inputs, outputs).parse();
}

} // namespace tessera::sim
