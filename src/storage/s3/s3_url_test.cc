#include "storage/s3/s3_url.h"

#include <gtest/gtest.h>

#include "storage/s3/s3_backend.h"

namespace ward::storage::s3 {
namespace {

TEST(S3UrlTest, CustomEndpointForms) {
  auto u = ParseS3Url("s3:http://127.0.0.1:7480/ward-test/some/prefix/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_FALSE(u->aws);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 7480);
  EXPECT_EQ(u->bucket, "ward-test");
  EXPECT_EQ(u->prefix, "some/prefix");
  EXPECT_EQ(u->ToString(), "s3:http://127.0.0.1:7480/ward-test/some/prefix");

  auto bare = ParseS3Url("s3:https://Minio.Example.COM/b");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->host, "minio.example.com");
  EXPECT_EQ(bare->port, 0);
  EXPECT_EQ(bare->prefix, "");
  EXPECT_EQ(bare->ToString(), "s3:https://minio.example.com/b");

  auto default_port = ParseS3Url("s3:https://h:443/b");
  ASSERT_TRUE(default_port.ok());
  EXPECT_EQ(default_port->port, 0);

  auto v6 = ParseS3Url("s3:http://[::1]:9000/bucket_with_Upper/p");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "[::1]");
  EXPECT_EQ(v6->port, 9000);
  EXPECT_EQ(v6->bucket, "bucket_with_Upper");
}

TEST(S3UrlTest, AwsForm) {
  auto u = ParseS3Url("s3:my-backups/host1/ward");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->aws);
  EXPECT_EQ(u->bucket, "my-backups");
  EXPECT_EQ(u->prefix, "host1/ward");
  EXPECT_EQ(u->ToString(), "s3:my-backups/host1/ward");
  EXPECT_TRUE(ParseS3Url("s3:my.dotted.bucket").ok());
}

TEST(S3UrlTest, RejectsMalformedUrls) {
  for (const char* bad : {"s3:",
                          "s3:/",
                          "s3:https://",
                          "s3:https:///bucket",
                          "s3:https://host",
                          "s3:https://host/",
                          "s3:ftp://host/b",
                          "s3:https://host:0/b",
                          "s3:https://host:70000/b",
                          "s3:https://host:12a/b",
                          "s3:https://host:/b",
                          "s3:https://host/b?x=1",
                          "s3:https://host/b#frag",
                          "s3:https://host/b/a//c",
                          "s3:https://host/b/../c",
                          "s3:https://host/b/./c",
                          "s3:https://ho st/b",
                          "s3:https://host/bu*cket",
                          "s3:https://[::1/b",
                          "s3:https://[zz]/b",
                          "s3:AB",
                          "s3:ab",
                          "s3:-bucket",
                          "s3:bucket-",
                          "s3:192.168.1.1",
                          "s3:a..b",
                          "s3:UpperCase",
                          "s3:host:9000/b",
                          "s3:https://host/b/p\x01",
                          "local:/x"}) {
    auto u = ParseS3Url(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(S3UrlTest, CredentialsInTheUrlAreRefusedWithoutEchoingThem) {
  auto u = ParseS3Url("s3:https://AKID:topsecret@host/bucket");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message().find("topsecret"), std::string::npos);
  EXPECT_NE(u.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(S3UrlTest, AwsBucketNames) {
  EXPECT_TRUE(IsValidAwsBucketName("abc"));
  EXPECT_TRUE(IsValidAwsBucketName("a.b-c.123"));
  EXPECT_FALSE(IsValidAwsBucketName("ab"));
  EXPECT_FALSE(IsValidAwsBucketName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidAwsBucketName("a.-b"));
  EXPECT_FALSE(IsValidAwsBucketName("a-.b"));
  EXPECT_FALSE(IsValidAwsBucketName("10.0.0.1"));
}

TEST(S3OptionsTest, Validation) {
  S3Options o;
  EXPECT_TRUE(o.Validate().ok());
  o.connections = 0;
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o = S3Options{};
  o.lock_mode = LockMode::kCompliance;
  EXPECT_FALSE(o.Validate().ok()) << "lock without days";
  o.lock_days = 30;
  EXPECT_TRUE(o.Validate().ok());
  o = S3Options{};
  o.lock_days = 3;
  EXPECT_FALSE(o.Validate().ok()) << "days without a mode";
  o = S3Options{};
  o.storage_class = "standard ia";
  EXPECT_FALSE(o.Validate().ok());
  o.storage_class = "STANDARD_IA";
  EXPECT_TRUE(o.Validate().ok());
  o.part_size = 1 << 20;
  EXPECT_FALSE(o.Validate().ok()) << "parts below S3's 5 MiB minimum";
  o = S3Options{};
  o.multipart_threshold = o.part_size - 1;
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_EQ(*ParseLockMode("compliance"), LockMode::kCompliance);
  EXPECT_EQ(*ParseLockMode("Governance"), LockMode::kGovernance);
  EXPECT_FALSE(ParseLockMode("legal").ok());
}

TEST(S3BackendOpenTest, KeysAndLocationWithoutNetwork) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_ACCESS_KEY_ID") return "AKIDTEST";
    if (name == "AWS_SECRET_ACCESS_KEY") return "secret";
    if (name == "AWS_DEFAULT_REGION") return "eu-west-1";
    return std::nullopt;
  };
  auto b = OpenS3Backend("s3:http://127.0.0.1:1/bkt/pre/fix", S3Options{}, env);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->Location(), "s3:http://127.0.0.1:1/bkt/pre/fix");
  EXPECT_EQ((*b)->Concurrency(), 8);
  std::string name(64, 'a');
  name[0] = 'c';
  name[1] = '7';
  EXPECT_EQ((*b)->Key(Handle{FileType::kPack, name}), "pre/fix/data/c7/" + name);
  EXPECT_EQ((*b)->Key(Handle::Config()), "pre/fix/config");
  EXPECT_EQ((*b)->Key(Handle{FileType::kSnapshot, name}), "pre/fix/snapshots/" + name);

  auto root = OpenS3Backend("s3:bkt-name", S3Options{}, env);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ((*root)->Key(Handle::Config()), "config");

  // No credentials: a clear error naming the variables, before any request.
  auto none = OpenS3Backend("s3:bkt-name", S3Options{},
                            [](const std::string& n) -> std::optional<std::string> {
                              if (n == "HOME") return "/nonexistent-home";
                              return std::nullopt;
                            });
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(S3BackendOpenTest, VirtualHostNeedsADnsName) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_ACCESS_KEY_ID") return "AKIDTEST";
    if (name == "AWS_SECRET_ACCESS_KEY") return "secret";
    return std::nullopt;
  };
  S3Options o;
  o.virtual_host = true;
  EXPECT_EQ(OpenS3Backend("s3:http://127.0.0.1:7480/b", o, env).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenS3Backend("s3:http://[::1]:7480/b", o, env).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(OpenS3Backend("s3:https://s3.example.com/b", o, env).ok());
}

TEST(S3BackendOpenTest, AppendOnlyRemoveSendsNoRequest) {
  // Port 1 on loopback refuses connections: if Remove sent anything, the
  // result would be kUnavailable, not kPermissionDenied.
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_ACCESS_KEY_ID") return "AKIDTEST";
    if (name == "AWS_SECRET_ACCESS_KEY") return "secret";
    return std::nullopt;
  };
  S3Options o;
  o.append_only = true;
  auto b = OpenS3Backend("s3:http://127.0.0.1:1/bkt", o, env);
  ASSERT_TRUE(b.ok());
  Status s = (*b)->Remove(Handle{FileType::kPack, std::string(64, 'a')});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("append-only mode: ward does not delete"), std::string::npos);
  // And the refused connection really is a transient error, for contrast.
  EXPECT_EQ((*b)->Stat(Handle::Config()).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ward::storage::s3
