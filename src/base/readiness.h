// Whether the process is ready to serve (storage open, WAL replayed, listeners up), with the
// reason when it is not. Read by /-/ready and /api/health. Thread-safe.
#pragma once

#include <mutex>
#include <string>

namespace oriel {

class Readiness {
 public:
  struct State {
    bool ready = false;
    std::string reason;  // why not ready; empty when ready
  };

  void SetReady() {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = {true, ""};
  }
  void SetNotReady(std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = {false, std::move(reason)};
  }
  State Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }

 private:
  mutable std::mutex mu_;
  State state_{false, "starting"};
};

}  // namespace oriel
