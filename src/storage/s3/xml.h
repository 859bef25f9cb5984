// A tiny XML reader for S3 replies, and an escaper for the few bodies ward
// sends (CompleteMultipartUpload, PutObjectRetention).
//
// S3 replies are small, flat documents (<ListBucketResult>, <Error>,
// <InitiateMultipartUploadResult>, ...). ParseXml reads one into a tree of
// elements, keeping for each its local name (any "ns:" prefix dropped), its
// decoded text and its children; attributes are checked for form and then
// ignored. It accepts what a conforming server sends (an XML declaration,
// comments, processing instructions, CDATA sections, the five predefined
// entities and numeric character references) and rejects, with
// kInvalidArgument, everything else: DOCTYPE (so no entity expansion),
// unknown entities, mismatched or unclosed tags, nesting deeper than
// kMaxXmlDepth, and content after the root element. It never reads past the
// input and never recurses without bound.
//
// Thread safety: pure functions; an XmlElement is a plain value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ward::storage::s3 {

inline constexpr int kMaxXmlDepth = 32;

struct XmlElement {
  std::string name;  // local name, without a namespace prefix
  std::string text;  // decoded character data directly inside this element
  std::vector<XmlElement> children;

  // The first child named `child_name`, or nullptr.
  const XmlElement* Child(std::string_view child_name) const;
  // Every child named `child_name`, in document order.
  std::vector<const XmlElement*> Children(std::string_view child_name) const;
  // The text of the first child named `child_name`, or "" if there is none.
  std::string ChildText(std::string_view child_name) const;
};

// Parses a whole document; returns its root element.
Result<XmlElement> ParseXml(std::string_view document);

// Escapes &, <, >, " and ' for use in element text or attribute values.
std::string XmlEscape(std::string_view text);

}  // namespace ward::storage::s3
