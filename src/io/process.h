// This process's identity on this machine (Linux): the boot ID, its PID and
// the PID's start time, and whether a process so named is certainly gone.
// Sessions record it; temporary files carry it in their names, so that a
// file a killed writer left can be told from one being written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ward::io {

std::string ThisBootId();                  // "" if unknown
uint64_t ProcessStartTicks(int64_t pid);   // clock ticks since boot; 0 if unknown / not running

struct ProcessOwner {
  std::string boot_id;  // a prefix of the boot ID in temporary names
  int64_t pid = 0;
  uint64_t pid_start = 0;
};

// True if the process is certainly gone: same boot, and the PID is not
// running or now belongs to a process that started at another time. False
// when it cannot be known (another machine, another boot, no PID).
bool IsGoneFromThisMachine(const ProcessOwner& owner);

// True if the process is certainly running: same boot, the PID exists and
// started when the owner says.
bool IsAliveOnThisMachine(const ProcessOwner& owner);

// "<boot12>.<pid>.<start>": what WriteFileAtomic puts into its temporary
// names, after ".tmp-".
std::string TempOwnerTag();

// The owner a temporary file name records ("…​.tmp-<tag>-XXXXXX"); nullopt
// for names without one (written by older versions).
std::optional<ProcessOwner> ParseTempOwner(std::string_view file_name);

}  // namespace ward::io
