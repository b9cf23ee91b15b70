// Posts payloads over HTTP/1.1 with libcurl: `concurrency` threads, each with one easy handle
// whose connection is kept alive between requests. No retries: a rejection is counted, since
// the point is to measure what the target accepts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/send_stats.h"

namespace oriel::loadgen {

struct Payload {
  Signal signal;
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  int64_t items = 0;
  // Payloads with the same shard (>= 0) go out one after another on one connection, in the
  // order submitted, as Prometheus' remote_write shards by series: samples of one series then
  // arrive in time order. -1: any connection.
  int shard = -1;
};

class Sender {
 public:
  // `stats` must outlive the Sender. REQUIRES: concurrency >= 1, queue_limit >= 1;
  // curl_global_init() was called.
  Sender(int concurrency, size_t queue_limit, double timeout_seconds, SendStats* stats);
  ~Sender();  // Close()

  // Queues a payload, blocking while `queue_limit` are waiting: that backpressure is what keeps
  // an unlimited rate at the pace the target acknowledges. Thread-safe.
  void Submit(Payload payload);
  // Sends what is queued, then stops the threads. Idempotent.
  void Close();

 private:
  void Run(size_t thread);

  const size_t queue_limit_;
  const long timeout_ms_;
  SendStats* stats_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Payload> queue_;                 // any thread
  std::vector<std::deque<Payload>> sharded_;  // by thread
  size_t queued_ = 0;                         // in all of them
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace oriel::loadgen
