// session_holder: registers a session of a given kind in a repository and
// keeps it (refreshed) until killed — a stand-in for a long backup or prune,
// for the concurrency tests. Prints "ready" once registered.
//   session_holder REPO_URL KIND    (password in WARD_PASSWORD)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "crypto/crypto.h"
#include "repo/repository.h"
#include "storage/backend.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: session_holder REPO_URL KIND\n");
    return 2;
  }
  if (!ward::crypto::Init().ok()) return 1;
  auto backend = ward::storage::OpenBackend(argv[1]);
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", backend.status().message().c_str());
    return 1;
  }
  const char* pw = std::getenv("WARD_PASSWORD");
  auto repo = ward::repo::Repository::Open(std::move(*backend), pw ? pw : "", ward::repo::OpenOptions());
  if (!repo.ok()) {
    std::fprintf(stderr, "%s\n", repo.status().message().c_str());
    return 1;
  }
  auto session = (*repo)->BeginSession(argv[2]);
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().message().c_str());
    return 1;
  }
  std::printf("ready %s\n", (*session)->writer().c_str());
  std::fflush(stdout);
  for (;;) ::pause();
}
