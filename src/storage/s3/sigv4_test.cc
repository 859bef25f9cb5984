// The signer against published vectors: the AWS SigV4 test suite (service
// "service", 2015-08-30) and the worked examples of the S3 documentation
// ("Signature Calculations for the Authorization Header").
#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

namespace ward::storage::s3 {
namespace {

// --- The aws-sig-v4-test-suite ---------------------------------------------

constexpr char kSuiteKeyId[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

SigningContext SuiteContext() {
  return SigningContext{kSuiteKeyId, kSuiteSecret, "us-east-1", "service", "20150830T123600Z"};
}

// A suite request: "GET /path?query" with the suite's host and date headers
// plus `extra` headers.
SignableRequest SuiteRequest(std::string method, std::string_view target, HeaderList extra = {},
                             std::string payload_hash = std::string(kEmptyPayloadSha256)) {
  SignableRequest r;
  r.method = std::move(method);
  size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = ParseQueryString(target.substr(q + 1));
  r.headers = {{"Host", "example.amazonaws.com"}};
  for (auto& h : extra) r.headers.push_back(h);
  r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
  r.payload_hash = std::move(payload_hash);
  return r;
}

TEST(SigV4SuiteTest, GetVanilla) {
  SignatureParts p = Sign(SuiteRequest("GET", "/"), SuiteContext());
  EXPECT_EQ(p.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(p.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(p.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4SuiteTest, SigningKeyDerivation) {
  EXPECT_EQ(HexEncode(SigningKey({kSuiteSecret, "20150830", "us-east-1", "service"})),
            "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
}

struct SuiteCase {
  const char* name;
  const char* method;
  const char* target;
  HeaderList headers;
  const char* signed_headers;
  const char* signature;
};

class SigV4SuiteCases : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteCases, MatchesPublishedSignature) {
  const SuiteCase& c = GetParam();
  SignatureParts p = Sign(SuiteRequest(c.method, c.target, c.headers), SuiteContext());
  EXPECT_EQ(p.signed_headers, c.signed_headers);
  EXPECT_EQ(p.signature, c.signature) << p.canonical_request;
}

INSTANTIATE_TEST_SUITE_P(
    Suite, SigV4SuiteCases,
    ::testing::Values(
        SuiteCase{"get_vanilla_query_order_key_case",
                  "GET",
                  "/?Param2=value2&Param1=value1",
                  {},
                  "host;x-amz-date",
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        SuiteCase{"get_vanilla_empty_query_key",
                  "GET",
                  "/?Param1=value1",
                  {},
                  "host;x-amz-date",
                  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
        SuiteCase{"get_vanilla_query_unreserved",
                  "GET",
                  "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
                  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                  {},
                  "host;x-amz-date",
                  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        SuiteCase{"get_vanilla_utf8_query",
                  "GET",
                  "/?\xE1\x88\xB4=bar",
                  {},
                  "host;x-amz-date",
                  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        SuiteCase{"get_unreserved",
                  "GET",
                  "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                  {},
                  "host;x-amz-date",
                  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        SuiteCase{"get_utf8",
                  "GET",
                  "/\xE1\x88\xB4",
                  {},
                  "host;x-amz-date",
                  "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        SuiteCase{"get_header_value_trim",
                  "GET",
                  "/",
                  {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
                  "host;my-header1;my-header2;x-amz-date",
                  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        SuiteCase{"get_header_key_duplicate",
                  "GET",
                  "/",
                  {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
                  "host;my-header1;x-amz-date",
                  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        SuiteCase{"get_header_value_order",
                  "GET",
                  "/",
                  {{"My-Header1", "value4"},
                   {"My-Header1", "value1"},
                   {"My-Header1", "value3"},
                   {"My-Header1", "value2"}},
                  "host;my-header1;x-amz-date",
                  "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
        SuiteCase{"post_vanilla_query",
                  "POST",
                  "/?Param1=value1",
                  {},
                  "host;x-amz-date",
                  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"}),
    [](const ::testing::TestParamInfo<SuiteCase>& param) { return std::string(param.param.name); });

TEST(SigV4SuiteTest, GetVanillaWithSessionToken) {
  SignableRequest r =
      SuiteRequest("GET", "/",
                   {{"X-Amz-Security-Token",
                     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"}});
  SignatureParts p = Sign(r, SuiteContext());
  EXPECT_EQ(p.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(p.signature, "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencodedWithSignedBody) {
  std::string body = "Param1=value1";
  std::string hash = Sha256Hex(AsBytes(body));
  EXPECT_EQ(hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  SignableRequest r = SuiteRequest("POST", "/",
                                   {{"Content-Type", "application/x-www-form-urlencoded"},
                                    {"Content-Length", "13"},
                                    {"x-amz-content-sha256", hash}},
                                   hash);
  SignatureParts p = Sign(r, SuiteContext());
  EXPECT_EQ(p.signed_headers, "content-length;content-type;host;x-amz-content-sha256;x-amz-date");
  EXPECT_EQ(p.signature, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
}

// --- The S3 documentation examples ----------------------------------------

SigningContext S3DocContext() {
  return SigningContext{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                        "us-east-1", "s3", "20130524T000000Z"};
}

SignableRequest S3DocRequest(std::string method, std::string path, QueryList query,
                             HeaderList extra, std::string payload_hash) {
  SignableRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", payload_hash}};
  for (auto& h : extra) r.headers.push_back(h);
  r.payload_hash = std::move(payload_hash);
  return r;
}

TEST(SigV4S3DocTest, GetObjectWithRange) {
  SignatureParts p = Sign(S3DocRequest("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}},
                                       std::string(kEmptyPayloadSha256)),
                          S3DocContext());
  EXPECT_EQ(p.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(p.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(p.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(p.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3DocTest, PutObjectEncodesTheKeyOnce) {
  std::string hash = Sha256Hex(AsBytes(std::string_view("Welcome to Amazon S3.")));
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SignatureParts p = Sign(S3DocRequest("PUT", "/test$file.text", {},
                                       {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                                        {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                                       hash),
                          S3DocContext());
  EXPECT_EQ(p.canonical_request.substr(0, 22), "PUT\n/test%24file.text\n");
  EXPECT_EQ(p.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(p.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4S3DocTest, GetBucketLifecycleWithValuelessQuery) {
  SignatureParts p =
      Sign(S3DocRequest("GET", "/", {{"lifecycle", ""}}, {}, std::string(kEmptyPayloadSha256)),
           S3DocContext());
  EXPECT_EQ(p.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3DocTest, ListObjectsSortsTheQuery) {
  SignatureParts p = Sign(S3DocRequest("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {},
                                       std::string(kEmptyPayloadSha256)),
                          S3DocContext());
  EXPECT_EQ(p.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// --- The encoders ------------------------------------------------------------

TEST(SigV4EncodingTest, UriEncode) {
  EXPECT_EQ(UriEncode("a b", true), "a%20b");
  EXPECT_EQ(UriEncode("a+b=c&d", true), "a%2Bb%3Dc%26d");
  EXPECT_EQ(UriEncode("100%", true), "100%25");
  EXPECT_EQ(UriEncode("a/b", false), "a/b");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(UriEncode("A-z_0.9~", true), "A-z_0.9~");
  EXPECT_EQ(UriEncode("\xD0\xBA", true), "%D0%BA");
  EXPECT_EQ(UriEncode(std::string_view("\0\xff", 2), true), "%00%FF");
}

TEST(SigV4EncodingTest, UriDecodeRoundTripsAndKeepsBadEscapes) {
  EXPECT_EQ(UriDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(UriDecode("a+b"), "a+b");
  EXPECT_EQ(UriDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(UriDecode("%"), "%");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(UriDecode(UriEncode(all, true)), all);
}

TEST(SigV4EncodingTest, CanonicalQuerySortsByEncodedNameThenValue) {
  EXPECT_EQ(CanonicalQueryString({{"b", "2"}, {"a", "x y"}, {"a", "+"}, {"c", ""}}),
            "a=%2B&a=x%20y&b=2&c=");
  EXPECT_EQ(CanonicalQueryString({}), "");
  // A continuation token full of reserved characters survives a round trip.
  std::string token = "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+?&";
  QueryList parsed = ParseQueryString("continuation-token=" + UriEncode(token, true));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].second, token);
}

TEST(SigV4EncodingTest, CanonicalPathIsNotNormalised) {
  EXPECT_EQ(CanonicalPath(""), "/");
  EXPECT_EQ(CanonicalPath("/bucket/a//b/../c"), "/bucket/a//b/../c");
  EXPECT_EQ(CanonicalPath("/bucket/key with space"), "/bucket/key%20with%20space");
}

TEST(SigV4EncodingTest, HeaderValuesAreTrimmedAndSpacesCollapsed) {
  EXPECT_EQ(CanonicalHeaderValue("  a   b \t c  "), "a b c");
  EXPECT_EQ(CanonicalHeaderValue(""), "");
  EXPECT_EQ(CanonicalHeaderValue("   "), "");
}

TEST(SigV4EncodingTest, ContentMd5AndAmzDate) {
  // RFC 1321 test vector: MD5("abc") = 900150983cd24fb0d6963f7d28e17f72.
  EXPECT_EQ(ContentMd5(AsBytes(std::string_view("abc"))), "kAFQmDzST7DWlj99KOF/cg==");
  EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z");
}

TEST(SigV4Test, DifferentSecretsGiveDifferentSignaturesAndNoSecretInOutput) {
  SigningContext a = SuiteContext(), b = SuiteContext();
  b.secret_access_key = "another-secret";
  SignatureParts pa = Sign(SuiteRequest("GET", "/"), a);
  SignatureParts pb = Sign(SuiteRequest("GET", "/"), b);
  EXPECT_NE(pa.signature, pb.signature);
  for (const std::string* s : {&pa.canonical_request, &pa.string_to_sign, &pa.authorization}) {
    EXPECT_EQ(s->find(kSuiteSecret), std::string::npos);
  }
}

}  // namespace
}  // namespace ward::storage::s3
