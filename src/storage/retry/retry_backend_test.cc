#include "storage/retry/retry_backend.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "storage/backend_conformance.h"
#include "storage/local/local_backend.h"
#include "storage/retry/fault_backend.h"

namespace ward::storage {
namespace {

using Op = FaultInjectionBackend::Op;
using Kind = FaultInjectionBackend::Kind;
using std::chrono::milliseconds;

std::string FreshDir() {
  char tmpl[] = "/tmp/ward-retry-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  return dir + "/repo";
}

Handle Name(FileType t, char c) { return Handle{t, std::string(64, c)}; }

// Local backend <- fault injection <- retry, with a recording fake sleep.
class RetryBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = NewLocalBackend(FreshDir());
    ASSERT_TRUE(local->Create().ok());
    auto faulty = std::make_unique<FaultInjectionBackend>(std::move(local));
    faults_ = faulty.get();
    RetryOptions o;
    o.max_attempts = 5;
    o.base = milliseconds(100);
    o.cap = milliseconds(1000);
    o.seed = 7;
    o.sleep = [this](milliseconds d) {
      std::lock_guard lock(mu_);
      sleeps_.push_back(d);
    };
    o.on_retry = [this](const std::string& op, int, const Status&, milliseconds) {
      std::lock_guard lock(mu_);
      retried_ops_.push_back(op);
    };
    retry_ = std::make_unique<RetryBackend>(std::move(faulty), o);
  }

  FaultInjectionBackend* faults_ = nullptr;
  std::unique_ptr<RetryBackend> retry_;
  std::mutex mu_;
  std::vector<milliseconds> sleeps_;
  std::vector<std::string> retried_ops_;
};

TEST(BackoffTest, CeilingDoublesUpToTheCapWithoutOverflow) {
  RetryOptions o;
  o.base = milliseconds(250);
  o.cap = milliseconds(30000);
  EXPECT_EQ(BackoffCeiling(o, 0), milliseconds(250));
  EXPECT_EQ(BackoffCeiling(o, 1), milliseconds(500));
  EXPECT_EQ(BackoffCeiling(o, 6), milliseconds(16000));
  EXPECT_EQ(BackoffCeiling(o, 7), milliseconds(30000));
  EXPECT_EQ(BackoffCeiling(o, 1000000), milliseconds(30000));
}

TEST_F(RetryBackendTest, TransientFailuresAreRetriedWithJitteredBackoff) {
  Handle h = Name(FileType::kSnapshot, 'a');
  faults_->FailNext(Op::kSave, Kind::kBefore, StatusCode::kUnavailable, 3);
  ASSERT_TRUE(retry_->Save(h, ToBytes("data")).ok());
  EXPECT_EQ(faults_->calls(Op::kSave), 4);
  ASSERT_EQ(sleeps_.size(), 3u);
  RetryOptions bounds;
  bounds.base = milliseconds(100);
  bounds.cap = milliseconds(1000);
  for (size_t i = 0; i < sleeps_.size(); ++i) {
    EXPECT_GE(sleeps_[i].count(), 0);
    EXPECT_LE(sleeps_[i], BackoffCeiling(bounds, static_cast<int>(i))) << i;
  }
  EXPECT_EQ(retry_->retries(), 3);
  EXPECT_EQ(retried_ops_.front(), "save " + h.ToString());
  EXPECT_EQ(*retry_->Load(h, 0, 0), ToBytes("data"));
}

TEST_F(RetryBackendTest, JitterIsSpreadNotFixed) {
  // Full jitter: delays are spread over [0, ceiling], not all equal.
  Handle h = Name(FileType::kIndex, 'b');
  ASSERT_TRUE(retry_->Save(h, ToBytes("x")).ok());
  std::set<int64_t> distinct;
  for (int i = 0; i < 40; ++i) {
    faults_->FailNext(Op::kStat, Kind::kBefore);
    ASSERT_TRUE(retry_->Stat(h).ok());
  }
  for (auto d : sleeps_) {
    EXPECT_LE(d, milliseconds(100));
    distinct.insert(d.count());
  }
  EXPECT_GT(distinct.size(), 10u);
}

TEST_F(RetryBackendTest, FinalErrorsAreNotRetried) {
  Handle h = Name(FileType::kSnapshot, 'c');
  for (StatusCode code :
       {StatusCode::kPermissionDenied, StatusCode::kUnauthenticated,
        StatusCode::kFailedPrecondition, StatusCode::kInvalidArgument, StatusCode::kDataLoss}) {
    faults_->FailNext(Op::kLoad, Kind::kBefore, code);
    EXPECT_EQ(retry_->Load(h, 0, 0).status().code(), code);
  }
  EXPECT_EQ(faults_->calls(Op::kLoad), 5);
  EXPECT_TRUE(sleeps_.empty());
  // A missing object is an answer, not a failure.
  EXPECT_EQ(retry_->Load(h, 0, 0).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetryBackendTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  faults_->FailNext(Op::kList, Kind::kBefore, StatusCode::kUnavailable, 10);
  Status s = retry_->List(FileType::kPack, [](const FileInfo&) { return Status::OK(); });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("gave up after 5 attempts"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("injected fault"), std::string::npos);
  EXPECT_EQ(faults_->calls(Op::kList), 5);
  EXPECT_EQ(sleeps_.size(), 4u);
}

TEST_F(RetryBackendTest, SaveWhoseReplyWasLostSucceedsWhenTheStoredBytesMatch) {
  Handle h = Name(FileType::kPack, 'd');
  Bytes data = ToBytes("pack bytes");
  faults_->FailNext(Op::kSave, Kind::kAfter);
  ASSERT_TRUE(retry_->Save(h, data).ok());
  EXPECT_EQ(faults_->calls(Op::kSave), 2);
  EXPECT_EQ(faults_->calls(Op::kLoad), 1) << "the stored object must be compared";
  EXPECT_EQ(*retry_->Load(h, 0, 0), data);
}

TEST_F(RetryBackendTest, SaveRetryNeverReplacesSomeoneElsesObject) {
  Handle h = Name(FileType::kSnapshot, 'e');
  Bytes theirs = ToBytes("written by another host");
  ASSERT_TRUE(retry_->Save(h, theirs).ok());
  // Our first attempt fails before reaching the store; the retry finds theirs.
  faults_->FailNext(Op::kSave, Kind::kBefore);
  EXPECT_EQ(retry_->Save(h, ToBytes("ours, differs")).code(), StatusCode::kAlreadyExists);
  // Same length, different bytes: still theirs.
  faults_->FailNext(Op::kSave, Kind::kBefore);
  EXPECT_EQ(retry_->Save(h, ToBytes("written by another hosT")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*retry_->Load(h, 0, 0), theirs);
}

TEST_F(RetryBackendTest, FirstAttemptAlreadyExistsIsReturnedWithoutReading) {
  Handle h = Name(FileType::kSnapshot, 'f');
  ASSERT_TRUE(retry_->Save(h, ToBytes("same")).ok());
  int loads = faults_->calls(Op::kLoad);
  EXPECT_EQ(retry_->Save(h, ToBytes("same")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(faults_->calls(Op::kLoad), loads);
}

TEST_F(RetryBackendTest, SaveVerificationReadFailuresRetryTheSave) {
  Handle h = Name(FileType::kPack, '1');
  faults_->FailNext(Op::kSave, Kind::kAfter);
  faults_->FailNext(Op::kLoad, Kind::kBefore);  // the comparison's read fails once
  ASSERT_TRUE(retry_->Save(h, ToBytes("abc")).ok());
  EXPECT_EQ(faults_->calls(Op::kSave), 3);
}

TEST_F(RetryBackendTest, ListRestartsButDeliversEachNameOnce) {
  std::set<std::string> want;
  for (char c : std::string("0123456789")) {
    Handle h = Name(FileType::kIndex, c);
    ASSERT_TRUE(retry_->Save(h, ToBytes("i")).ok());
    want.insert(h.name);
  }
  faults_->FailNext(Op::kList, Kind::kAfter, StatusCode::kUnavailable, 2);
  std::map<std::string, int> seen;
  ASSERT_TRUE(retry_
                  ->List(FileType::kIndex,
                         [&](const FileInfo& fi) {
                           ++seen[fi.name];
                           return Status::OK();
                         })
                  .ok());
  EXPECT_EQ(faults_->calls(Op::kList), 3);
  EXPECT_EQ(seen.size(), want.size());
  for (const auto& [name, n] : seen) {
    EXPECT_EQ(n, 1) << name;
    EXPECT_TRUE(want.count(name));
  }
}

TEST_F(RetryBackendTest, ListCallbackErrorsAreNeverRetried) {
  for (char c : std::string("01234"))
    ASSERT_TRUE(retry_->Save(Name(FileType::kKey, c), ToBytes("k")).ok());
  int calls = 0;
  Status s = retry_->List(FileType::kKey, [&](const FileInfo&) {
    ++calls;
    return UnavailableError("the consumer's own transient problem");
  });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "the consumer's own transient problem");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(faults_->calls(Op::kList), 1);
}

TEST_F(RetryBackendTest, RemoveWhoseReplyWasLostSucceeds) {
  Handle h = Name(FileType::kPack, '2');
  ASSERT_TRUE(retry_->Save(h, ToBytes("p")).ok());
  faults_->FailNext(Op::kRemove, Kind::kAfter);
  ASSERT_TRUE(retry_->Remove(h).ok());
  EXPECT_EQ(faults_->calls(Op::kRemove), 2);
  EXPECT_EQ(retry_->Stat(h).status().code(), StatusCode::kNotFound);
}

TEST_F(RetryBackendTest, RemoveOfAMissingObjectIsNotFoundEvenAfterFaults) {
  Handle h = Name(FileType::kPack, '3');
  faults_->FailNext(Op::kStat, Kind::kBefore);
  faults_->FailNext(Op::kRemove, Kind::kBefore);
  EXPECT_EQ(retry_->Remove(h).code(), StatusCode::kNotFound);
}

// The whole conformance suite, with a third of all calls failing at random
// (before or after reaching the store), must pass through the retry wrapper.
INSTANTIATE_TEST_SUITE_P(RetryOverFaults, BackendConformance,
                         ::testing::Values(BackendFactory{
                             "retry_over_random_faults", [] {
                               auto faulty = std::make_unique<FaultInjectionBackend>(
                                   NewLocalBackend(FreshDir()));
                               faulty->SetRandomFaults(0.3, 12345);
                               RetryOptions o;
                               o.max_attempts = 30;  // 0.3^30: never exhausted
                               o.sleep = [](milliseconds) {};
                               return std::unique_ptr<Backend>(
                                   std::make_unique<RetryBackend>(std::move(faulty), o));
                             }}));

}  // namespace
}  // namespace ward::storage
