#include <gtest/gtest.h>

#include <thread>

#include "base/bytes.h"
#include "base/status.h"
#include "base/sync.h"
#include "base/time.h"

namespace ward {
namespace {

TEST(StatusTest, ResultCarriesValueOrError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = NotFoundError("thing: missing");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bad.status().WithContext("loading").message(), "loading: thing: missing");
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "/x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(ENOSPC, "/x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus(EACCES, "/x").code(), StatusCode::kPermissionDenied);
  EXPECT_NE(ErrnoStatus(ENOSPC, "/x").message().find("/x"), std::string::npos);
}

TEST(BytesTest, HexRoundTripAndErrors) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), b);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(Id::FromHex("00").ok());
}

TEST(BytesTest, Base64KnownAnswers) {
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(AsString(*Base64Decode(Base64Encode(AsBytes(s)))), s);
  }
  EXPECT_FALSE(Base64Decode("Zm9v!").ok());
}

TEST(BytesTest, EncoderDecoderRoundTrip) {
  Bytes buf;
  Encoder e(&buf);
  e.U8(7);
  e.U32(0xdeadbeef);
  e.U64(1ull << 40);
  e.Varint(300);
  e.SignedVarint(-5);
  e.Str("hello");
  Decoder d(buf);
  EXPECT_EQ(*d.U8(), 7);
  EXPECT_EQ(*d.U32(), 0xdeadbeefu);
  EXPECT_EQ(*d.U64(), 1ull << 40);
  EXPECT_EQ(*d.Varint(), 300u);
  EXPECT_EQ(*d.SignedVarint(), -5);
  EXPECT_EQ(*d.Str(), "hello");
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.U8().status().code(), StatusCode::kDataLoss);
  Bytes bad = {0x80, 0x80};
  EXPECT_EQ(Decoder(bad).Varint().status().code(), StatusCode::kDataLoss);
  Bytes str = {5, 'a'};
  EXPECT_EQ(Decoder(str).Str().status().code(), StatusCode::kDataLoss);
}

TEST(TimeTest, Rfc3339RoundTrip) {
  auto t = ParseTime("2026-11-22T17:46:13Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1795369573ll * 1000000000);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-22T17:46:13Z");
  EXPECT_EQ(*ParseTime("2026-11-22T19:46:13+02:00"), *t);
  EXPECT_EQ(*ParseTime("2026-11-22T17:46:13.5Z"), *t + 500000000);
  EXPECT_EQ(FormatRfc3339(*t + 500000000), "2026-11-22T17:46:13.5Z");
  EXPECT_TRUE(ParseTime("2026-11-22").ok());
  EXPECT_FALSE(ParseTime("yesterday").ok());
  EXPECT_FALSE(ParseTime("2026-13-01").ok());
  EXPECT_FALSE(ParseTime("2026-11-22T17:46:13Q").ok());
}

// Issue 14: out-of-range fields were carried into the next one (February 30
// as March 2) and years outside int64 nanoseconds wrapped around.
TEST(TimeTest, RejectsImpossibleDatesAndTimesNamingTheField) {
  auto message = [](std::string_view text) {
    auto t = ParseTime(text);
    return t.ok() ? std::string("accepted as ") + FormatRfc3339(*t) : t.status().message();
  };
  EXPECT_EQ(message("2026-02-30T00:00:00Z"), "invalid time '2026-02-30T00:00:00Z': February 2026 has 28 days");
  EXPECT_EQ(message("2026-02-29"), "invalid time '2026-02-29': February 2026 has 28 days");
  EXPECT_EQ(message("2100-02-29T00:00:00Z"), "invalid time '2100-02-29T00:00:00Z': February 2100 has 28 days");
  EXPECT_EQ(*ParseTime("2028-02-29T00:00:00Z"), FromCivilUtc({2028, 2, 29}));
  EXPECT_EQ(*ParseTime("2000-02-29T00:00:00Z"), FromCivilUtc({2000, 2, 29}));
  EXPECT_EQ(message("2026-04-31T00:00:00Z"), "invalid time '2026-04-31T00:00:00Z': April 2026 has 30 days");
  EXPECT_EQ(message("2026-00-10"), "invalid time '2026-00-10': month 0 does not exist (use 01-12)");
  EXPECT_NE(message("2026-01-01T24:00:00Z").find("hour must be 00-23"), std::string::npos);
  EXPECT_NE(message("2026-01-01T10:60:00Z").find("minute must be 00-59"), std::string::npos);
  EXPECT_NE(message("2026-01-01T10:00:61Z").find("second must be"), std::string::npos);
  EXPECT_NE(message("2026-01-01T10:00:00+24:00").find("offset"), std::string::npos);
  EXPECT_NE(message("2026-01-01T10:00:00+02:60").find("offset"), std::string::npos);
  EXPECT_EQ(message("1000-01-01T00:00:00Z"),
            "invalid time '1000-01-01T00:00:00Z': the year must be between 1678 and 2261");
  EXPECT_NE(message("2262-06-01T00:00:00Z").find("between 1678 and 2261"), std::string::npos);
  EXPECT_NE(message("1677-01-01").find("between 1678 and 2261"), std::string::npos);
  EXPECT_EQ(FormatRfc3339(*ParseTime("1678-01-01T00:00:00Z")), "1678-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(*ParseTime("2261-12-31T23:59:59Z")), "2261-12-31T23:59:59Z");
}

TEST(TimeTest, CivilTimeRoundTripsAndKnowsTheWeekday) {
  CivilTime c = ToCivilUtc(*ParseTime("2026-12-03T14:05:09Z"));
  EXPECT_EQ(c.year, 2026);
  EXPECT_EQ(c.month, 12);
  EXPECT_EQ(c.day, 3);
  EXPECT_EQ(c.hour, 14);
  EXPECT_EQ(c.minute, 5);
  EXPECT_EQ(c.second, 9);
  EXPECT_EQ(c.weekday, 4);  // a Thursday
  EXPECT_EQ(ToCivilUtc(*ParseTime("1969-12-31T23:59:59Z")).weekday, 3);
  EXPECT_EQ(FromCivilUtc(c), *ParseTime("2026-12-03T14:05:09Z"));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
}

TEST(TimeTest, DurationsThatOverflowAreRejected) {
  for (const char* text : {"99999999999999999999h", "300y", "9223372037s", "200y200y", "106751d1000000h"}) {
    auto d = ParseDuration(text);
    ASSERT_FALSE(d.ok()) << text << " accepted as " << *d;
    EXPECT_NE(d.status().message().find("too long"), std::string::npos) << d.status().message();
  }
  EXPECT_EQ(*ParseDuration("292y"), 292ll * 365 * 86400 * 1000000000);
  EXPECT_EQ(*ParseDuration("9223372035s"), 9223372035ll * 1000000000);
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(*ParseDuration("90s"), 90ll * 1000000000);
  EXPECT_EQ(*ParseDuration("2h30m"), 9000ll * 1000000000);
  EXPECT_EQ(*ParseDuration("1d"), 86400ll * 1000000000);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("1x").ok());
}

TEST(SyncTest, BoundedQueueBoundsAndDrains) {
  BoundedQueue<int> q(10);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.Push(i, 3));
    q.Close();
  });
  int expect = 0;
  while (auto v = q.Pop()) EXPECT_EQ(*v, expect++);
  producer.join();
  EXPECT_EQ(expect, 100);
  EXPECT_FALSE(q.Push(1));
}

}  // namespace
}  // namespace ward
