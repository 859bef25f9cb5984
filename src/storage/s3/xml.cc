#include "storage/s3/xml.h"

#include <cstdint>

namespace ward::storage::s3 {

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child_name) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children) {
    if (c.name == child_name) out.push_back(&c);
  }
  return out;
}

std::string XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* c = Child(child_name);
  return c == nullptr ? std::string() : c->text;
}

namespace {

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsNameStart(char c) {
  auto u = static_cast<unsigned char>(c);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || u >= 0x80;
}

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A recursive-descent reader over the input; depth bounded by kMaxXmlDepth.
class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<XmlElement> Document() {
    // A UTF-8 byte order mark may precede the declaration.
    if (in_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    WARD_RETURN_IF_ERROR(SkipMisc());
    if (!Peek('<')) return Error("no root element");
    XmlElement root;
    WARD_RETURN_IF_ERROR(Element(&root, 1));
    WARD_RETURN_IF_ERROR(SkipMisc());
    if (pos_ != in_.size()) return Error("content after the root element");
    return root;
  }

 private:
  Status Error(std::string_view what) const {
    return InvalidArgumentError("malformed XML reply at byte " + std::to_string(pos_) + ": " +
                                std::string(what));
  }

  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  bool StartsWith(std::string_view s) const { return in_.substr(pos_, s.size()) == s; }
  void SkipSpace() {
    while (pos_ < in_.size() && IsXmlSpace(in_[pos_])) ++pos_;
  }

  // Skips to just past `terminator`; fails if it never comes.
  Status SkipPast(std::string_view terminator, std::string_view what) {
    size_t end = in_.find(terminator, pos_);
    if (end == std::string_view::npos)
      return Error(std::string("unterminated ") + std::string(what));
    pos_ = end + terminator.size();
    return Status::OK();
  }

  // Whitespace, comments and processing instructions (the prolog and epilog).
  Status SkipMisc() {
    for (;;) {
      SkipSpace();
      if (StartsWith("<?")) {
        WARD_RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
      } else if (StartsWith("<!--")) {
        WARD_RETURN_IF_ERROR(SkipPast("-->", "comment"));
      } else if (StartsWith("<!")) {
        return Error("DOCTYPE and other declarations are not accepted");
      } else {
        return Status::OK();
      }
    }
  }

  Result<std::string> Name() {
    size_t start = pos_;
    if (pos_ >= in_.size() || !IsNameStart(in_[pos_])) return Error("expected a name");
    while (pos_ < in_.size() && IsNameChar(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }

  static std::string LocalName(const std::string& qname) {
    size_t colon = qname.rfind(':');
    return colon == std::string::npos ? qname : qname.substr(colon + 1);
  }

  // Decodes one reference starting at '&'; appends the character(s).
  Status Reference(std::string* out) {
    size_t semi = in_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12) return Error("bad entity reference");
    std::string_view ref = in_.substr(pos_ + 1, semi - pos_ - 1);
    if (ref == "lt") {
      out->push_back('<');
    } else if (ref == "gt") {
      out->push_back('>');
    } else if (ref == "amp") {
      out->push_back('&');
    } else if (ref == "quot") {
      out->push_back('"');
    } else if (ref == "apos") {
      out->push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return Error("empty character reference");
      uint32_t cp = 0;
      for (char c : digits) {
        int v;
        if (c >= '0' && c <= '9') {
          v = c - '0';
        } else if (hex && c >= 'a' && c <= 'f') {
          v = c - 'a' + 10;
        } else if (hex && c >= 'A' && c <= 'F') {
          v = c - 'A' + 10;
        } else {
          return Error("bad character reference");
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        if (cp > 0x10FFFF) return Error("character reference out of range");
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return Error("invalid character reference");
      AppendUtf8(cp, out);
    } else {
      return Error("unknown entity '&" + std::string(ref) + ";'");
    }
    pos_ = semi + 1;
    return Status::OK();
  }

  // Attributes up to (not including) '>' or '/>'; their values are ignored.
  Status Attributes() {
    for (;;) {
      size_t before = pos_;
      SkipSpace();
      if (Peek('>') || StartsWith("/>")) return Status::OK();
      if (pos_ == before) return Error("expected whitespace before an attribute");
      WARD_ASSIGN_OR_RETURN(std::string name, Name());
      (void)name;
      SkipSpace();
      if (!Peek('=')) return Error("expected '=' after an attribute name");
      ++pos_;
      SkipSpace();
      if (!Peek('"') && !Peek('\'')) return Error("expected a quoted attribute value");
      char quote = in_[pos_++];
      size_t end = in_.find(quote, pos_);
      if (end == std::string_view::npos) return Error("unterminated attribute value");
      if (in_.substr(pos_, end - pos_).find('<') != std::string_view::npos) {
        return Error("'<' in an attribute value");
      }
      pos_ = end + 1;
    }
  }

  Status Element(XmlElement* el, int depth) {
    if (depth > kMaxXmlDepth) return Error("elements nested too deeply");
    ++pos_;  // '<'
    WARD_ASSIGN_OR_RETURN(std::string qname, Name());
    el->name = LocalName(qname);
    WARD_RETURN_IF_ERROR(Attributes());
    if (StartsWith("/>")) {
      pos_ += 2;
      return Status::OK();
    }
    ++pos_;  // '>'
    for (;;) {
      if (pos_ >= in_.size()) return Error("unclosed element <" + qname + ">");
      char c = in_[pos_];
      if (c == '<') {
        if (StartsWith("</")) {
          pos_ += 2;
          WARD_ASSIGN_OR_RETURN(std::string end_name, Name());
          if (end_name != qname) {
            return Error("</" + end_name + "> closes <" + qname + ">");
          }
          SkipSpace();
          if (!Peek('>')) return Error("expected '>'");
          ++pos_;
          return Status::OK();
        }
        if (StartsWith("<!--")) {
          WARD_RETURN_IF_ERROR(SkipPast("-->", "comment"));
        } else if (StartsWith("<![CDATA[")) {
          size_t start = pos_ + 9;
          size_t end = in_.find("]]>", start);
          if (end == std::string_view::npos) return Error("unterminated CDATA section");
          el->text.append(in_.substr(start, end - start));
          pos_ = end + 3;
        } else if (StartsWith("<?")) {
          WARD_RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
        } else if (StartsWith("<!")) {
          return Error("declaration inside an element");
        } else {
          el->children.emplace_back();
          WARD_RETURN_IF_ERROR(Element(&el->children.back(), depth + 1));
        }
      } else if (c == '&') {
        WARD_RETURN_IF_ERROR(Reference(&el->text));
      } else {
        size_t end = pos_;
        while (end < in_.size() && in_[end] != '<' && in_[end] != '&') ++end;
        el->text.append(in_.substr(pos_, end - pos_));
        pos_ = end;
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

Result<XmlElement> ParseXml(std::string_view document) { return Parser(document).Document(); }

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace ward::storage::s3
