#include "client/detail/http_pool.h"

#include <uv.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace tradpal::client::detail {

namespace {

using Clock = std::chrono::steady_clock;

// A request goes out at most this many times (see the header for when).
constexpr int kMaxAttempts = 3;

struct Job {
  HttpCall call;
  Clock::time_point deadline;
  // The serialised request, shared with the write in progress: an answer
  // may come (and the job end) before the write's callback has run.
  std::shared_ptr<const std::string> wire;
  std::uint64_t id = 0;
  bool written = false;  // every byte was handed to the kernel
  int attempts = 0;
};
using JobPtr = std::unique_ptr<Job>;

}  // namespace

struct HttpPool::Impl {
  struct Conn {
    Impl* pool = nullptr;
    uv_tcp_t tcp{};
    uv_connect_t connect_req{};
    enum class State { connecting, ready, closing } state = State::connecting;
    Clock::time_point connect_deadline;
    Clock::time_point idle_since;
    std::deque<JobPtr> in_flight;  // written in this order, answered in this order
    std::unique_ptr<ResponseReader> reader;
    bool no_more = false;  // the server will close after its current answer
    std::size_t address = 0;
    std::array<char, 64 * 1024> buf{};
  };
  struct WriteReq {
    uv_write_t req{};
    Conn* conn = nullptr;
    std::uint64_t job_id = 0;
    std::shared_ptr<const std::string> bytes;
  };

  ServiceUrl url;
  PoolOptions options;

  std::mutex mu;
  std::vector<JobPtr> incoming;  // guarded by mu
  bool stopping = false;         // guarded by mu

  uv_loop_t loop{};
  uv_async_t wake{};
  uv_timer_t timer{};
  uv_getaddrinfo_t resolve_req{};
  bool resolving = false;
  std::vector<sockaddr_storage> addresses;
  std::deque<JobPtr> pending;  // not yet on a connection
  std::list<std::unique_ptr<Conn>> conns;
  std::uint64_t next_id = 1;
  bool shut = false;  // loop side of `stopping`
  std::thread thread;

  Impl(ServiceUrl u, PoolOptions o) : url(std::move(u)), options(std::move(o)) {
    uv_loop_init(&loop);
    uv_async_init(&loop, &wake, &Impl::on_wake);
    wake.data = this;
    uv_timer_init(&loop, &timer);
    timer.data = this;
    thread = std::thread([this] {
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
    });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    uv_async_send(&wake);
    thread.join();
  }

  std::string serialise(const HttpCall& c) const {
    std::string w;
    w.reserve(160 + c.target.size() + c.body.size());
    w += c.method;
    w += ' ';
    w += url.prefix;
    w += c.target;
    w += " HTTP/1.1\r\nHost: ";
    w += url.authority();
    w += "\r\nUser-Agent: tradpal-events-client\r\nAccept: application/json\r\n";
    if (!options.authorization.empty()) {
      w += "Authorization: ";
      w += options.authorization;
      w += "\r\n";
    }
    if (c.method == "POST" || !c.body.empty()) {
      w += "Content-Type: application/json\r\nContent-Length: ";
      w += std::to_string(c.body.size());
      w += "\r\n";
    }
    w += "\r\n";
    w += c.body;
    return w;
  }

  // ---- completion -------------------------------------------------------------

  static void complete(Job& job, HttpResponse* response, const ClientError* error) {
    if (!job.call.done) return;
    try {
      job.call.done(response, error);
    } catch (...) {
      // A callback must not throw into the loop; nothing can be reported here.
    }
    job.call.done = nullptr;
  }

  static void fail(Job& job, ErrorKind kind, const std::string& why, bool sent) {
    const ClientError e(kind, why, 0, {}, sent);
    complete(job, nullptr, &e);
  }

  std::string where() const { return url.authority(); }

  // ---- wake-ups from submit() and the destructor --------------------------------

  static void on_wake(uv_async_t* a) {
    Impl& p = *static_cast<Impl*>(a->data);
    std::vector<JobPtr> taken;
    bool stop = false;
    {
      std::lock_guard lock(p.mu);
      taken.swap(p.incoming);
      stop = p.stopping;
    }
    for (JobPtr& j : taken) p.pending.push_back(std::move(j));
    if (stop) {
      p.shutdown();
      return;
    }
    p.dispatch();
    p.arm_timer();
  }

  void shutdown() {
    shut = true;
    const std::string why = "the client was closed before an answer came";
    for (auto& c : conns) {
      if (c->state != Conn::State::closing) drop(*c, ErrorKind::closed, why);
    }
    for (JobPtr& j : pending) fail(*j, ErrorKind::closed, why, false);
    pending.clear();
    uv_timer_stop(&timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
  }

  // ---- assigning requests to connections ------------------------------------------

  void dispatch() {
    while (!pending.empty() && !shut) {
      Conn* best = nullptr;
      std::size_t connecting = 0;
      for (auto& c : conns) {
        if (c->state == Conn::State::connecting) ++connecting;
        if (c->state != Conn::State::ready || c->no_more || c->in_flight.size() >= options.max_pipeline) continue;
        if (best == nullptr || c->in_flight.size() < best->in_flight.size()) best = c.get();
      }
      const std::size_t open = std::count_if(conns.begin(), conns.end(),
                                             [](const auto& c) { return c->state != Conn::State::closing; });
      // A busy best connection: spread onto one more while allowed.
      if ((best == nullptr || !best->in_flight.empty()) && connecting == 0 && open < options.max_connections) {
        open_connection(0);
      }
      if (best == nullptr) return;
      JobPtr job = std::move(pending.front());
      pending.pop_front();
      send(*best, std::move(job));
    }
  }

  void send(Conn& c, JobPtr job) {
    job->written = false;
    ++job->attempts;
    auto* w = new WriteReq;
    w->conn = &c;
    w->job_id = job->id;
    w->req.data = w;
    w->bytes = job->wire;
    uv_buf_t buf = uv_buf_init(const_cast<char*>(w->bytes->data()), static_cast<unsigned>(w->bytes->size()));
    c.in_flight.push_back(std::move(job));
    const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c.tcp), &buf, 1, &Impl::on_written);
    if (rc != 0) {
      delete w;
      drop(c, ErrorKind::unreachable, "cannot write to " + where() + ": " + uv_strerror(rc));
    }
  }

  static void on_written(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    Conn& c = *w->conn;
    const std::uint64_t id = w->job_id;
    delete w;
    if (c.state == Conn::State::closing) return;
    if (status != 0) {
      c.pool->drop(c, ErrorKind::unreachable, "lost the connection to " + c.pool->where() + ": " + uv_strerror(status));
      c.pool->after_event();
      return;
    }
    for (JobPtr& j : c.in_flight) {
      if (j->id == id) {
        j->written = true;
        break;
      }
    }
  }

  // ---- connections ------------------------------------------------------------------

  void open_connection(std::size_t address) {
    if (addresses.empty()) {
      resolve();
      return;
    }
    auto conn = std::make_unique<Conn>();
    Conn& c = *conn;
    c.pool = this;
    c.address = address;
    c.connect_deadline = Clock::now() + options.connect_timeout;
    uv_tcp_init(&loop, &c.tcp);
    c.tcp.data = &c;
    c.connect_req.data = &c;
    conns.push_back(std::move(conn));
    const int rc = uv_tcp_connect(&c.connect_req, &c.tcp, reinterpret_cast<const sockaddr*>(&addresses[address]),
                                  &Impl::on_connected);
    if (rc != 0) connect_failed(c, ErrorKind::unreachable, uv_strerror(rc));
  }

  void resolve() {
    if (resolving) return;
    resolving = true;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    resolve_req.data = this;
    const int rc = uv_getaddrinfo(&loop, &resolve_req, &Impl::on_resolved, url.host.c_str(), url.port.c_str(), &hints);
    if (rc != 0) {
      resolving = false;
      fail_pending(ErrorKind::unreachable, "cannot resolve " + url.host + ": " + uv_strerror(rc));
    }
  }

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    Impl& p = *static_cast<Impl*>(req->data);
    p.resolving = false;
    if (status == 0) {
      for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        sockaddr_storage s{};
        std::memcpy(&s, a->ai_addr, std::min<std::size_t>(a->ai_addrlen, sizeof s));
        p.addresses.push_back(s);
      }
    }
    uv_freeaddrinfo(res);
    if (p.shut) return;
    if (status != 0 || p.addresses.empty()) {
      p.fail_pending(ErrorKind::unreachable,
                     "cannot resolve " + p.url.host + ": " + (status != 0 ? uv_strerror(status) : "no address"));
    }
    p.after_event();
  }

  static void on_connected(uv_connect_t* req, int status) {
    Conn& c = *static_cast<Conn*>(req->data);
    Impl& p = *c.pool;
    if (c.state == Conn::State::closing) return;
    if (status != 0) {
      p.connect_failed(c, ErrorKind::unreachable, uv_strerror(status));
      p.after_event();
      return;
    }
    c.state = Conn::State::ready;
    c.idle_since = Clock::now();
    uv_tcp_nodelay(&c.tcp, 1);
    Conn* cp = &c;
    c.reader = std::make_unique<ResponseReader>([cp](HttpResponse&& r) { cp->pool->answered(*cp, std::move(r)); });
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c.tcp), &Impl::on_alloc, &Impl::on_read);
    p.after_event();
  }

  void connect_failed(Conn& c, ErrorKind kind, const std::string& why) {
    const std::size_t next = c.address + 1;
    close_conn(c);
    if (next < addresses.size()) {
      open_connection(next);  // the host's next address
      return;
    }
    addresses.clear();  // resolve again next time: the service may have moved
    const bool others = std::any_of(conns.begin(), conns.end(),
                                    [](const auto& o) { return o->state != Conn::State::closing; });
    if (!others) fail_pending(kind, "cannot connect to " + where() + ": " + why);
  }

  void fail_pending(ErrorKind kind, const std::string& why) {
    std::deque<JobPtr> jobs;
    jobs.swap(pending);
    for (JobPtr& j : jobs) fail(*j, kind, why, false);
  }

  // The connection is unusable: its requests are retried where that cannot
  // duplicate an effect, failed otherwise.
  void drop(Conn& c, ErrorKind kind, const std::string& why) {
    if (c.state == Conn::State::closing) return;
    std::deque<JobPtr> jobs;
    jobs.swap(c.in_flight);
    close_conn(c);
    const Clock::time_point now = Clock::now();
    std::vector<JobPtr> again;
    for (JobPtr& j : jobs) {
      const bool retry = !shut && j->attempts < kMaxAttempts && now < j->deadline &&
                         (!j->written || j->call.idempotent);
      if (retry) {
        again.push_back(std::move(j));
      } else {
        fail(*j, kind, why, j->written);
      }
    }
    // Back to the front, in their original order.
    for (auto it = again.rbegin(); it != again.rend(); ++it) pending.push_front(std::move(*it));
  }

  void close_conn(Conn& c) {
    c.state = Conn::State::closing;
    uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), &Impl::on_closed);
  }

  static void on_closed(uv_handle_t* h) {
    Conn* c = static_cast<Conn*>(h->data);
    Impl& p = *c->pool;
    p.conns.remove_if([c](const auto& o) { return o.get() == c; });
  }

  static void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* out) {
    Conn& c = *static_cast<Conn*>(h->data);
    *out = uv_buf_init(c.buf.data(), static_cast<unsigned>(c.buf.size()));
  }

  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    Conn& c = *static_cast<Conn*>(s->data);
    Impl& p = *c.pool;
    if (c.state == Conn::State::closing) return;
    if (n > 0) {
      if (!c.reader->feed(buf->base, static_cast<std::size_t>(n))) {
        p.drop(c, ErrorKind::protocol, p.where() + " answered " + c.reader->error());
      } else if (c.no_more && c.state != Conn::State::closing) {
        p.drop(c, ErrorKind::unreachable, p.where() + " closed the connection after an earlier answer");
      }
    } else if (n < 0) {
      if (n == UV_EOF && !c.reader->finish()) {
        p.drop(c, ErrorKind::unreachable, p.where() + " closed the connection in the middle of an answer");
      } else {
        p.drop(c, ErrorKind::unreachable,
               n == UV_EOF ? p.where() + " closed the connection before answering"
                           : "lost the connection to " + p.where() + ": " + uv_strerror(static_cast<int>(n)));
      }
    }
    p.after_event();
  }

  void answered(Conn& c, HttpResponse&& r) {
    if (c.in_flight.empty()) {
      c.no_more = true;  // an answer nobody asked for: this connection is confused
      return;
    }
    JobPtr job = std::move(c.in_flight.front());
    c.in_flight.pop_front();
    if (!r.keep_alive) c.no_more = true;
    if (c.in_flight.empty()) c.idle_since = Clock::now();
    complete(*job, &r, nullptr);
  }

  // ---- deadlines ----------------------------------------------------------------------

  void after_event() {
    if (shut) return;
    dispatch();
    arm_timer();
  }

  void arm_timer() {
    if (shut) return;
    Clock::time_point next = Clock::time_point::max();
    for (const JobPtr& j : pending) next = std::min(next, j->deadline);
    for (const auto& c : conns) {
      if (c->state == Conn::State::connecting) next = std::min(next, c->connect_deadline);
      if (c->state != Conn::State::ready) continue;
      if (c->in_flight.empty()) next = std::min(next, c->idle_since + options.idle_close);
      for (const JobPtr& j : c->in_flight) next = std::min(next, j->deadline);
    }
    if (next == Clock::time_point::max()) {
      uv_timer_stop(&timer);
      return;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    uv_timer_start(&timer, &Impl::on_timer, static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0)), 0);
  }

  static void on_timer(uv_timer_t* t) {
    Impl& p = *static_cast<Impl*>(t->data);
    const Clock::time_point now = Clock::now();
    for (auto it = p.pending.begin(); it != p.pending.end();) {
      if ((*it)->deadline <= now) {
        fail(**it, ErrorKind::timed_out, "no answer from " + p.where() + " in time", false);
        it = p.pending.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<Conn*> expired_connect, expired_answer, idle;
    for (auto& c : p.conns) {
      if (c->state == Conn::State::connecting && c->connect_deadline <= now) expired_connect.push_back(c.get());
      if (c->state != Conn::State::ready) continue;
      if (c->in_flight.empty() && c->idle_since + p.options.idle_close <= now) idle.push_back(c.get());
      for (const JobPtr& j : c->in_flight) {
        if (j->deadline <= now) {
          expired_answer.push_back(c.get());
          break;
        }
      }
    }
    for (Conn* c : expired_connect) {
      p.connect_failed(*c, ErrorKind::timed_out,
                       "no connection within " + std::to_string(p.options.connect_timeout.count()) + " ms");
    }
    for (Conn* c : expired_answer) {
      p.drop(*c, ErrorKind::timed_out, "no answer from " + p.where() + " in time");
    }
    for (Conn* c : idle) p.close_conn(*c);
    p.after_event();
  }
};

HttpPool::HttpPool(ServiceUrl url, PoolOptions options)
    : impl_(std::make_unique<Impl>(std::move(url), std::move(options))) {}

HttpPool::~HttpPool() = default;

const ServiceUrl& HttpPool::url() const noexcept { return impl_->url; }

void HttpPool::submit(HttpCall call) {
  auto job = std::make_unique<Job>();
  job->deadline = Clock::now() + call.timeout;
  job->wire = std::make_shared<const std::string>(impl_->serialise(call));
  job->call = std::move(call);
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping) {
      job->id = impl_->next_id++;
      impl_->incoming.push_back(std::move(job));
    }
  }
  if (job) {
    Impl::fail(*job, ErrorKind::closed, "the client is closed", false);
    return;
  }
  uv_async_send(&impl_->wake);
}

}  // namespace tradpal::client::detail
