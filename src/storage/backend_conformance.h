// The one conformance suite every Backend must pass (restic's
// internal/backend/test). A backend's test file adds only its configuration:
//
//   INSTANTIATE_TEST_SUITE_P(Local, BackendConformance,
//                            ::testing::Values(BackendFactory{"local", [] { ... }}));
//
// and lists backend_conformance.cc among its sources. Each factory call must
// return a backend on a fresh, empty location on which Create() has not run.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "storage/backend.h"

namespace ward::storage {

struct BackendFactory {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
};

inline std::ostream& operator<<(std::ostream& os, const BackendFactory& f) { return os << f.name; }

class BackendConformance : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    ASSERT_NE(backend_, nullptr);
    ASSERT_TRUE(backend_->Create().ok());
  }
  std::unique_ptr<Backend> backend_;
};

}  // namespace ward::storage
