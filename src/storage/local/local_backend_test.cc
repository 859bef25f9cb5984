#include "storage/local/local_backend.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "storage/backend_conformance.h"

namespace ward::storage {
namespace {

std::string FreshDir() {
  char tmpl[] = "/tmp/ward-local-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  return dir + "/repo";
}

INSTANTIATE_TEST_SUITE_P(Local, BackendConformance,
                         ::testing::Values(BackendFactory{
                             "local", [] { return NewLocalBackend(FreshDir()); }}));

TEST(LocalBackendTest, TemporaryFilesAreNotListedAndObjectsAreReadOnly) {
  std::string root = FreshDir();
  auto b = NewLocalBackend(root);
  ASSERT_TRUE(b->Create().ok());
  // A crash between write and link leaves a temporary file behind.
  std::string leftover = root + "/snapshots/" + std::string(64, 'a') + ".tmp-abcdef";
  FILE* f = fopen(leftover.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  int n = 0;
  ASSERT_TRUE(b->List(FileType::kSnapshot, [&](const FileInfo&) {
                 ++n;
                 return Status::OK();
               }).ok());
  EXPECT_EQ(n, 0);

  Handle h{FileType::kSnapshot, std::string(64, 'b')};
  ASSERT_TRUE(b->Save(h, ToBytes("x")).ok());
  struct stat st;
  ASSERT_EQ(::stat((root + "/snapshots/" + h.name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(LocalBackendTest, OpenBackendParsesUrls) {
  EXPECT_TRUE(OpenBackend("/srv/repo").ok());
  EXPECT_TRUE(OpenBackend("local:/srv/repo").ok());
  EXPECT_TRUE(OpenBackend("relative/repo").ok());
  EXPECT_EQ((*OpenBackend("local:/srv/repo"))->Location(), "/srv/repo");
  EXPECT_EQ(OpenBackend("ftp://host/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenBackend("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ward::storage
