#include "io/process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ward::io {
namespace {

TEST(ProcessTest, TemporaryNamesCarryTheirOwner) {
  std::string name = std::string(64, 'a') + ".tmp-" + TempOwnerTag() + "-Ab12Cd";
  auto owner = ParseTempOwner(name);
  ASSERT_TRUE(owner.has_value()) << name;
  EXPECT_EQ(owner->pid, ::getpid());
  EXPECT_EQ(owner->pid_start, ProcessStartTicks(::getpid()));
  EXPECT_TRUE(IsAliveOnThisMachine(*owner));
  EXPECT_FALSE(IsGoneFromThisMachine(*owner));
}

TEST(ProcessTest, NamesWithoutAnOwnerProveNothing) {
  EXPECT_FALSE(ParseTempOwner(std::string(64, 'a') + ".tmp-Ab12Cd").has_value());
  EXPECT_FALSE(ParseTempOwner(std::string(64, 'a')).has_value());
  EXPECT_FALSE(ParseTempOwner("x.tmp-0123456789ab.12x.5-Ab12Cd").has_value());
  EXPECT_FALSE(ParseTempOwner("x.tmp-short.12.5-Ab12Cd").has_value());
}

TEST(ProcessTest, AProcessThatExitedIsGoneAndAnotherBootProvesNothing) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ProcessOwner o{ThisBootId(), child, ProcessStartTicks(child)};
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(IsGoneFromThisMachine(o));
  EXPECT_FALSE(IsAliveOnThisMachine(o));
  o.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(IsGoneFromThisMachine(o)) << "another machine's process cannot be judged from here";
  ProcessOwner self{ThisBootId(), ::getpid(), ProcessStartTicks(::getpid()) + 1};
  EXPECT_TRUE(IsGoneFromThisMachine(self)) << "a PID that now belongs to a process started at another time";
}

}  // namespace
}  // namespace ward::io
