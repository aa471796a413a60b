#include "adapters/redis/partitioned_remote_subscription.h"

namespace tradpal::redis {

PartitionedRemoteSubscription::PartitionedRemoteSubscription(IoThread& io,
                                                             std::shared_ptr<const Partitioning> partitioning,
                                                             RemoteSubscriptionOptions options)
    : partitioning_(std::move(partitioning)) {
  if (partitioning_ == nullptr) throw ConfigError("partitioned subscription: no partitioning");
  for (std::size_t i = 0; i < partitioning_->count(); ++i) {
    RemoteSubscriptionOptions o = options;
    o.stream = partitioning_->stream(i);
    if (partitioning_->count() > 1) {
      const std::string& s = o.stream;
      // "<base>:{tag}" → dead letters in "<dead>:{tag}": the same slot.
      if (!options.dead_letter_stream.empty()) o.dead_letter_stream = options.dead_letter_stream + s.substr(s.find(":{"));
      o.connection.name = (o.connection.name == "redis" ? std::string("group") : o.connection.name) + "[" +
                          std::to_string(i) + "]";
    }
    parts_.push_back(std::make_unique<RemoteSubscription>(io, std::move(o)));
  }
}

void PartitionedRemoteSubscription::on(EventType type, const RemoteSubscription::Handler& handler) {
  for (auto& p : parts_) p->on(type, handler);
}

void PartitionedRemoteSubscription::on_any(const RemoteSubscription::Handler& handler) {
  for (auto& p : parts_) p->on_any(handler);
}

void PartitionedRemoteSubscription::start() {
  for (auto& p : parts_) p->start();
}

void PartitionedRemoteSubscription::stop() {
  for (auto& p : parts_) p->stop();
}

bool PartitionedRemoteSubscription::connected() const noexcept {
  for (const auto& p : parts_) {
    if (!p->connected()) return false;
  }
  return true;
}

std::uint64_t PartitionedRemoteSubscription::handled() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : parts_) n += p->handled();
  return n;
}

std::uint64_t PartitionedRemoteSubscription::failed() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : parts_) n += p->failed();
  return n;
}

std::uint64_t PartitionedRemoteSubscription::claimed() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : parts_) n += p->claimed();
  return n;
}

std::uint64_t PartitionedRemoteSubscription::dead_lettered() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : parts_) n += p->dead_lettered();
  return n;
}

}  // namespace tradpal::redis
