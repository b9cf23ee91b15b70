#include "loadgen/sender.h"

#include <curl/curl.h>

#include <chrono>

#include "base/check.h"

namespace oriel::loadgen {
namespace {

// Keeps the first bytes of an answer, for error messages.
size_t KeepPrefix(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t len = size * n;
  if (out->size() < 300) out->append(data, std::min(len, 300 - out->size()));
  return len;
}

}  // namespace

Sender::Sender(int concurrency, size_t queue_limit, double timeout_seconds, SendStats* stats)
    : queue_limit_(queue_limit),
      timeout_ms_(static_cast<long>(timeout_seconds * 1000)),
      stats_(stats) {
  ORIEL_CHECK(concurrency >= 1 && queue_limit >= 1);
  sharded_.resize(static_cast<size_t>(concurrency));
  for (size_t i = 0; i < sharded_.size(); ++i) threads_.emplace_back([this, i] { Run(i); });
}

Sender::~Sender() { Close(); }

void Sender::Submit(Payload payload) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return queued_ < queue_limit_ || closing_; });
  if (closing_) return;
  if (payload.shard >= 0) {
    sharded_[static_cast<size_t>(payload.shard) % sharded_.size()].push_back(std::move(payload));
  } else {
    queue_.push_back(std::move(payload));
  }
  ++queued_;
  changed_.notify_all();
}

void Sender::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ && threads_.empty()) return;
    closing_ = true;
    changed_.notify_all();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void Sender::Run(size_t thread) {
  CURL* curl = curl_easy_init();
  ORIEL_CHECK(curl != nullptr);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, KeepPrefix);
  char error[CURL_ERROR_SIZE];
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  while (true) {
    Payload p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      std::deque<Payload>& own = sharded_[thread];
      changed_.wait(lock, [&] { return !own.empty() || !queue_.empty() || closing_; });
      std::deque<Payload>& from = !own.empty() ? own : queue_;
      if (from.empty()) break;
      p = std::move(from.front());
      from.pop_front();
      --queued_;
      changed_.notify_all();
    }
    curl_slist* headers = nullptr;
    for (const std::string& h : p.headers) headers = curl_slist_append(headers, h.c_str());
    // Without this, curl waits for "100 Continue" before sending bodies over 1 KiB.
    headers = curl_slist_append(headers, "Expect:");
    std::string answer;
    error[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, p.url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(p.body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    const auto start = std::chrono::steady_clock::now();
    const CURLcode rc = curl_easy_perform(curl);
    const double latency =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    long code = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    for (char& c : answer) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    const std::string what =
        rc == CURLE_OK
            ? answer
            : std::string(error[0] != '\0' ? error : curl_easy_strerror(rc)) + " (" + p.url + ")";
    stats_->Record(p.signal, p.items, static_cast<int64_t>(p.body.size()), static_cast<int>(code),
                   what, latency);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
  }
  curl_easy_cleanup(curl);
}

}  // namespace oriel::loadgen
