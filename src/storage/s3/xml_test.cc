#include "storage/s3/xml.h"

#include <gtest/gtest.h>

#include <random>

namespace ward::storage::s3 {
namespace {

TEST(XmlTest, ListObjectsV2ReplyFromRgw) {
  // Shape of a Ceph RGW 16 reply (one line, default namespace, &quot; in ETags).
  const char* doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>ward-test</Name>"
      "<Prefix>p/index/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/index/aa</Key><LastModified>2026-11-22T18:00:00.000Z</LastModified>"
      "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>p/index/a&amp;b &lt;c&gt;</Key><Size>12</Size></Contents>"
      "<KeyCount>2</KeyCount><NextContinuationToken>1~abc/+=</NextContinuationToken>"
      "</ListBucketResult>";
  auto root = ParseXml(doc);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->name, "ListBucketResult");
  EXPECT_EQ(root->ChildText("IsTruncated"), "true");
  EXPECT_EQ(root->ChildText("NextContinuationToken"), "1~abc/+=");
  auto contents = root->Children("Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents[0]->ChildText("Key"), "p/index/aa");
  EXPECT_EQ(contents[0]->ChildText("ETag"), "\"d41d8cd98f00b204e9800998ecf8427e\"");
  EXPECT_EQ(contents[1]->ChildText("Key"), "p/index/a&b <c>");
  EXPECT_EQ(contents[1]->ChildText("Size"), "12");
  EXPECT_EQ(root->ChildText("Missing"), "");
  EXPECT_EQ(root->Child("Missing"), nullptr);
}

TEST(XmlTest, ErrorWithEmptyMessageAndSelfClosingTags) {
  auto root = ParseXml(
      "<?xml version=\"1.0\"?>\n<Error>\n  <Code>NoSuchKey</Code>\n  <Message></Message>\n"
      "  <Resource/>\n  <RequestId>tx1</RequestId>\n</Error>\n");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->name, "Error");
  EXPECT_EQ(root->ChildText("Code"), "NoSuchKey");
  EXPECT_EQ(root->ChildText("Message"), "");
  ASSERT_NE(root->Child("Resource"), nullptr);
  EXPECT_EQ(root->ChildText("RequestId"), "tx1");
}

TEST(XmlTest, NamespacePrefixesCommentsCdataAndReferences) {
  auto root = ParseXml(
      "\xEF\xBB\xBF<!-- lead --><s3:R xmlns:s3='urn:x' a = \"1\"><!-- c --><s3:K>"
      "<![CDATA[<raw & text>]]>&#65;&#x42;&#x10348;&apos;</s3:K><?pi x?></s3:R><!-- tail -->");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->name, "R");
  EXPECT_EQ(root->ChildText("K"), "<raw & text>AB\xF0\x90\x8D\x88'");
}

TEST(XmlTest, RejectsMalformedDocuments) {
  const char* bad[] = {
      "",
      "   ",
      "text",
      "<a>",
      "<a></b>",
      "<a><b></a></b>",
      "<a>&unknown;</a>",
      "<a>&#0;</a>",
      "<a>&#xD800;</a>",
      "<a>&#x110000;</a>",
      "<a>&#;</a>",
      "<a>&#12a;</a>",
      "<a>& b</a>",
      "<a></a><b></b>",
      "<a></a>trailing",
      "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
      "<a><![CDATA[never closed</a>",
      "<a><!-- never closed</a>",
      "<a b></a>",
      "<a b=c></a>",
      "<a b=\"c></a>",
      "<a b=\"<\"></a>",
      "<a\"></a>",
      "<1a></1a>",
      "<a></a",
  };
  for (const char* doc : bad) {
    auto r = ParseXml(doc);
    EXPECT_FALSE(r.ok()) << "accepted: " << doc;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(XmlTest, NestingIsBounded) {
  std::string ok_doc, deep_doc;
  for (int i = 0; i < kMaxXmlDepth; ++i) ok_doc += "<a>";
  for (int i = 0; i < kMaxXmlDepth; ++i) ok_doc += "</a>";
  EXPECT_TRUE(ParseXml(ok_doc).ok());
  for (int i = 0; i < 100000; ++i) deep_doc += "<a>";
  auto r = ParseXml(deep_doc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested too deeply"), std::string::npos);
}

TEST(XmlTest, TruncationsOfAValidReplyAreRejectedWithoutCrashing) {
  const std::string doc =
      "<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>k&amp;1</Key><Size>1</Size>"
      "</Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  ASSERT_TRUE(ParseXml(doc).ok());
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_FALSE(ParseXml(std::string_view(doc).substr(0, n)).ok()) << n;
  }
}

TEST(XmlTest, RandomBytesNeverCrash) {
  // A cheap fuzz: mutations of a valid document. The parser must return (an
  // error or a tree) without reading out of bounds; ASan checks the rest.
  const std::string base =
      "<?xml version=\"1.0\"?><R a='1'><K>x&amp;&#x41;<![CDATA[c]]></K><!--c--><E/></R>";
  std::mt19937 rng(42);
  const char alphabet[] = "<>/&;#x![]-?='\"aKR \n";
  for (int i = 0; i < 20000; ++i) {
    std::string doc = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (doc.size() + 1);
      switch (rng() % 3) {
        case 0:
          doc.insert(doc.begin() + static_cast<long>(pos), alphabet[rng() % 21]);
          break;
        case 1:
          if (pos < doc.size()) doc.erase(pos, 1);
          break;
        default:
          if (pos < doc.size()) doc[pos] = static_cast<char>(rng());
          break;
      }
    }
    auto r = ParseXml(doc);
    if (r.ok()) {
      EXPECT_FALSE(r->name.empty());
    }
  }
}

TEST(XmlTest, EscapeRoundTrips) {
  std::string text = "a<b>&\"c'd";
  EXPECT_EQ(XmlEscape(text), "a&lt;b&gt;&amp;&quot;c&apos;d");
  auto r = ParseXml("<x>" + XmlEscape(text) + "</x>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, text);
}

}  // namespace
}  // namespace ward::storage::s3
