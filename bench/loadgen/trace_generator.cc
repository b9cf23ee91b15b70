#include "loadgen/trace_generator.h"

#include <algorithm>
#include <array>

#include "base/check.h"
#include "fmt/format.h"

namespace oriel::loadgen {
namespace {

namespace otrace = opentelemetry::proto::trace::v1;
namespace ocommon = opentelemetry::proto::common::v1;

enum class Call { kRoot, kRpcClient, kRpcServer, kDb, kProducer, kConsumer, kInternal };

struct ServiceTemplate {
  const char* name;
  const char* language;
  const char* rpc_service;
  std::array<const char*, 3> methods;
  double median_ms;
};
constexpr std::array<ServiceTemplate, 11> kBackends = {{
    {"cart", "dotnet", "oteldemo.CartService", {"GetCart", "AddItem", "EmptyCart"}, 3},
    {"product-catalog",
     "go",
     "oteldemo.ProductCatalogService",
     {"ListProducts", "GetProduct", "SearchProducts"},
     2},
    {"checkout", "go", "oteldemo.CheckoutService", {"PlaceOrder", "PlaceOrder", "PlaceOrder"}, 12},
    {"payment", "nodejs", "oteldemo.PaymentService", {"Charge", "Charge", "Refund"}, 25},
    {"currency",
     "java",
     "oteldemo.CurrencyService",
     {"Convert", "GetSupportedCurrencies", "Convert"},
     1},
    {"shipping", "python", "oteldemo.ShippingService", {"GetQuote", "ShipOrder", "GetQuote"}, 6},
    {"recommendation",
     "python",
     "oteldemo.RecommendationService",
     {"ListRecommendations", "ListRecommendations", "ListRecommendations"},
     8},
    {"ad", "java", "oteldemo.AdService", {"GetAds", "GetAds", "GetAds"}, 4},
    {"email",
     "nodejs",
     "oteldemo.EmailService",
     {"SendOrderConfirmation", "SendOrderConfirmation", "SendOrderConfirmation"},
     15},
    {"quote", "java", "oteldemo.QuoteService", {"GetQuote", "GetQuote", "GetQuote"}, 3},
    {"accounting",
     "go",
     "oteldemo.AccountingService",
     {"ProcessOrder", "ProcessOrder", "ProcessOrder"},
     5},
}};
constexpr std::array<const char*, 6> kRoutes = {"GET /api/products",        "GET /api/cart",
                                                "POST /api/cart",           "POST /api/checkout",
                                                "GET /api/recommendations", "GET /api/data"};
constexpr std::array<const char*, 5> kStatements = {
    "SELECT id, name, price_units FROM products WHERE id = $1",
    "SELECT * FROM cart_items WHERE user_id = $1",
    "INSERT INTO orders (id, user_id, total) VALUES ($1, $2, $3)",
    "UPDATE inventory SET quantity = quantity - $1 WHERE product_id = $2",
    "SELECT currency_code, rate FROM exchange_rates WHERE currency_code = ANY($1)"};
constexpr std::array<const char*, 25> kFillerKeys = {"app.user.id",
                                                     "app.session.id",
                                                     "app.cart.items.count",
                                                     "app.feature_flag.new_ui",
                                                     "app.tenant",
                                                     "app.request.id",
                                                     "app.retry.count",
                                                     "app.cache.hit",
                                                     "app.payload.bytes",
                                                     "app.customer.tier",
                                                     "app.experiment",
                                                     "app.locale",
                                                     "app.currency",
                                                     "app.product.id",
                                                     "app.order.id",
                                                     "app.shard",
                                                     "app.build",
                                                     "app.region",
                                                     "app.client.version",
                                                     "app.queue.depth",
                                                     "app.db.pool.size",
                                                     "app.auth.method",
                                                     "app.ab.bucket",
                                                     "app.page.size",
                                                     "app.recommendation.count"};

void Set(ocommon::KeyValue* kv, std::string_view key, std::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}
void SetInt(ocommon::KeyValue* kv, std::string_view key, int64_t value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_int_value(value);
}
void SetBool(ocommon::KeyValue* kv, std::string_view key, bool value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_bool_value(value);
}

std::string RandomBytes(Rng& rng, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t r = rng.Next() | 1;  // never all zero: an all-zero id is invalid in OTLP
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(r >> (8 * j));
  }
  return out;
}

struct ExceptionText {
  std::string type;
  std::string message;
  std::string stacktrace;
};

// A stack trace in the format of the service's language, with frames naming the operation.
ExceptionText MakeException(std::string_view language, std::string_view service,
                            std::string_view operation, bool db) {
  const std::string op(operation.substr(operation.rfind('/') + 1));
  if (language == "java") {
    ExceptionText e{
        db ? "java.sql.SQLTransientConnectionException" : "io.grpc.StatusRuntimeException",
        db ? "HikariPool-1 - Connection is not available, request timed out after 30000ms."
           : "UNAVAILABLE: io exception",
        ""};
    e.stacktrace = fmt::format(
        "{}: {}\n\tat "
        "com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
        "\tat oteldemo.{}.{}(Service.java:88)\n\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler"
        "$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)\n\tat "
        "java.base/java.lang.Thread"
        ".run(Thread.java:833)",
        e.type, e.message, service, op);
    return e;
  }
  if (language == "python") {
    ExceptionText e{db ? "psycopg2.OperationalError" : "ValueError",
                    db ? "could not connect to server: Connection refused" : "invalid product id",
                    ""};
    e.stacktrace = fmt::format(
        "Traceback (most recent call last):\n  File \"/app/{}_server.py\", line 87, in {}\n"
        "    result = self.store.fetch(request)\n  File \"/app/store.py\", line 42, in fetch\n"
        "    return self.conn.execute(query, args)\n{}: {}",
        service, op, e.type, e.message);
    return e;
  }
  if (language == "nodejs") {
    ExceptionText e{"Error", db ? "connect ECONNREFUSED 10.0.3.7:5432" : "Invalid credit card", ""};
    e.stacktrace = fmt::format(
        "Error: {}\n    at {} (/usr/src/app/{}.js:41:11)\n    at processTicksAndRejections "
        "(node:internal/process/task_queues:95:5)\n    at async Server.handle "
        "(/usr/src/app/index.js:27:5)",
        e.message, op, service);
    return e;
  }
  if (language == "dotnet") {
    ExceptionText e{"System.InvalidOperationException", "Redis connection is not available", ""};
    e.stacktrace = fmt::format(
        "System.InvalidOperationException: {}\n   at "
        "cartservice.cartstore.ValkeyCartStore.{}(String "
        "userId) in /app/src/cartstore/ValkeyCartStore.cs:line 171\n   at cartservice.services."
        "CartService.{}(Request request, ServerCallContext context) in /app/src/services/"
        "CartService.cs:line 44",
        e.message, op, op);
    return e;
  }
  ExceptionText e{db ? "*pq.Error" : "*errors.errorString",
                  db ? "pq: canceling statement due to statement timeout" : "failed to charge card",
                  ""};
  e.stacktrace = fmt::format(
      "goroutine 214 [running]:\nmain.(*{}Service).{}(0xc0001a2000, {{0x1a2b3c0, 0xc000412000}})\n"
      "\t/app/main.go:231 +0x1d4\ngoogle.golang.org/grpc.(*Server).processUnaryRPC(0xc000188000)\n"
      "\t/go/pkg/mod/google.golang.org/grpc@v1.62.0/server.go:1369 +0xe23",
      service, op);
  return e;
}

}  // namespace

struct TraceGenerator::Node {
  int service;
  int replica;
  int parent;
  int depth;
  Call call;
  std::string name;
  int peer = -1;  // callee service of a client or producer span
  int variant = 0;
  std::vector<int> children;
  double self_ms = 0;
  bool error = false;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

TraceGenerator::TraceGenerator(const TraceOptions& options)
    : options_(options), rng_(options.seed) {
  ORIEL_CHECK(options_.services >= 2);
  ORIEL_CHECK(options_.replicas >= 1);
  ORIEL_CHECK(1 <= options_.min_spans && options_.min_spans <= options_.max_spans);
  ORIEL_CHECK(0 <= options_.min_attributes && options_.min_attributes <= options_.max_attributes);
  services_.push_back({"frontend", "nodejs", {kRoutes.begin(), kRoutes.end()}, 4});
  for (int s = 1; s < options_.services; ++s) {
    const ServiceTemplate& t = kBackends[(s - 1) % kBackends.size()];
    Service service;
    service.name = s <= static_cast<int>(kBackends.size())
                       ? t.name
                       : fmt::format("{}-{}", t.name, (s - 1) / kBackends.size() + 1);
    service.language = t.language;
    for (const char* m : t.methods)
      service.operations.push_back(fmt::format("{}/{}", t.rpc_service, m));
    service.median_ms = t.median_ms;
    services_.push_back(std::move(service));
  }
  Rng layout(options_.seed ^ 0x7e50a7ce5ULL);
  for (const Service& service : services_) {
    for (int r = 0; r < options_.replicas; ++r) {
      opentelemetry::proto::resource::v1::Resource resource;
      const std::string pod = fmt::format("{}-{:x}-{:05x}", service.name, layout.Next() % 0xfffffff,
                                          layout.Next() % 0xfffff);
      Set(resource.add_attributes(), "service.name", service.name);
      Set(resource.add_attributes(), "service.namespace", "shop");
      Set(resource.add_attributes(), "service.version",
          fmt::format("1.{}.{}", layout.Range(0, 12), layout.Range(0, 9)));
      Set(resource.add_attributes(), "service.instance.id",
          fmt::format("{:016x}{:016x}", layout.Next(), layout.Next()));
      Set(resource.add_attributes(), "host.name", pod);
      Set(resource.add_attributes(), "k8s.pod.name", pod);
      Set(resource.add_attributes(), "k8s.namespace.name", "shop");
      Set(resource.add_attributes(), "deployment.environment", "production");
      Set(resource.add_attributes(), "cloud.region", "eu-west-1");
      Set(resource.add_attributes(), "telemetry.sdk.name", "opentelemetry");
      Set(resource.add_attributes(), "telemetry.sdk.language", service.language);
      Set(resource.add_attributes(), "telemetry.sdk.version", "1.24.0");
      resources_.push_back(std::move(resource));
    }
  }
}

int TraceGenerator::DegradedService(int64_t time_ns) const {
  if (options_.incident_period_s <= 0) return -1;
  const int64_t period_ns = options_.incident_period_s * 1'000'000'000;
  const int64_t window = time_ns / period_ns;
  if (time_ns % period_ns >= options_.incident_length_s * 1'000'000'000) return -1;
  Rng pick(options_.seed ^ static_cast<uint64_t>(window) * 0x9e3779b97f4a7c15ULL);
  return static_cast<int>(pick.Range(1, options_.services - 1));
}

int64_t TraceGenerator::Layout(std::vector<Node>& nodes, int index, int64_t start_ns,
                               int degraded) {
  Node& node = nodes[index];
  node.start_ns = start_ns;
  const double self_ns = node.self_ms * 1e6 * (node.service == degraded ? 5 : 1);
  int64_t t = start_ns + static_cast<int64_t>(self_ns * 0.5);
  for (const int child : node.children) {  // Layout() never adds nodes, so `node` stays valid
    t = Layout(nodes, child, t, degraded) + static_cast<int64_t>(rng_.Range(10'000, 200'000));
  }
  nodes[index].end_ns = t + static_cast<int64_t>(self_ns * 0.5);
  return nodes[index].end_ns;
}

GeneratedTrace TraceGenerator::Next(int64_t start_ns) {
  const int target = static_cast<int>(rng_.Range(options_.min_spans, options_.max_spans));
  const int num_backends = options_.services - 1;
  const int consumer_service = num_backends;  // the last backend consumes the order queue
  std::vector<Node> nodes;
  nodes.reserve(target);
  auto add = [&](int parent, int service, Call call, std::string name) {
    Node n;
    n.service = service;
    n.replica = static_cast<int>(rng_.Range(0, options_.replicas - 1));
    n.parent = parent;
    n.depth = parent < 0 ? 0 : nodes[parent].depth + 1;
    n.call = call;
    n.name = std::move(name);
    n.variant = static_cast<int>(rng_.Range(0, 1 << 20));
    switch (call) {
      case Call::kRoot:
      case Call::kRpcServer:
      case Call::kConsumer:
        n.self_ms = rng_.LogNormal(services_[service].median_ms, 0.6);
        break;
      case Call::kDb:
        n.self_ms = rng_.LogNormal(2, 0.9);
        break;
      default:
        n.self_ms = rng_.LogNormal(0.3, 0.4);
    }
    if (parent >= 0) nodes[parent].children.push_back(static_cast<int>(nodes.size()));
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size() - 1);
  };
  add(-1, 0, Call::kRoot, kRoutes[rng_.Range(0, kRoutes.size() - 1)]);
  std::vector<int> expandable = {0};
  while (static_cast<int>(nodes.size()) < target) {
    const int remaining = target - static_cast<int>(nodes.size());
    const int parent = expandable[rng_.Range(0, expandable.size() - 1)];
    const int service = nodes[parent].service;
    const double r = rng_.Uniform();
    if (remaining >= 2 && r < 0.6) {
      int callee = static_cast<int>(rng_.Range(1, num_backends));
      if (callee == service) callee = callee % num_backends + 1;
      const auto& ops = services_[callee].operations;
      const std::string op = ops[rng_.Range(0, ops.size() - 1)];
      const int client = add(parent, service, Call::kRpcClient, op);
      nodes[client].peer = callee;
      const int server = add(client, callee, Call::kRpcServer, op);
      if (nodes[server].depth < 6) expandable.push_back(server);
    } else if (remaining >= 2 && r < 0.68 && service != consumer_service) {
      const int producer = add(parent, service, Call::kProducer, "orders publish");
      nodes[producer].peer = consumer_service;
      const int consumer = add(producer, consumer_service, Call::kConsumer, "orders process");
      if (nodes[consumer].depth < 6) expandable.push_back(consumer);
    } else if (r < 0.9) {
      const char* statement = kStatements[rng_.Range(0, kStatements.size() - 1)];
      const std::string_view verb = std::string_view(statement).substr(0, 6);
      add(parent, service, Call::kDb, fmt::format("{} shop", verb));
    } else {
      add(parent, service, Call::kInternal, "process_request");
    }
  }
  const int degraded = DegradedService(start_ns);
  Layout(nodes, 0, start_ns, degraded);

  GeneratedTrace trace;
  std::vector<int> candidates;
  const bool touches_degraded =
      degraded > 0 &&
      std::any_of(nodes.begin(), nodes.end(), [&](const Node& n) { return n.service == degraded; });
  const double error_rate =
      touches_degraded ? std::max(options_.error_rate, 0.25) : options_.error_rate;
  if (rng_.Chance(error_rate)) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      const bool leaf = nodes[i].children.empty();
      if (touches_degraded ? nodes[i].service == degraded : leaf) candidates.push_back(i);
    }
    if (!candidates.empty()) {
      trace.error = true;
      trace.error_span = candidates[rng_.Range(0, candidates.size() - 1)];
      for (int i = trace.error_span; i >= 0; i = nodes[i].parent) nodes[i].error = true;
    }
  }

  const std::string trace_id = RandomBytes(rng_, 16);
  std::vector<std::string> span_ids;
  span_ids.reserve(nodes.size());
  trace.spans.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    span_ids.push_back(RandomBytes(rng_, 8));
    GeneratedSpan g;
    g.resource = node.service * options_.replicas + node.replica;
    otrace::Span& span = g.span;
    span.set_trace_id(trace_id);
    span.set_span_id(span_ids.back());
    if (node.parent >= 0) span.set_parent_span_id(span_ids[node.parent]);
    span.set_flags(0x101);  // sampled, and the parent's remoteness is known
    span.set_name(node.name);
    switch (node.call) {
      case Call::kRoot:
      case Call::kRpcServer:
        span.set_kind(otrace::Span::SPAN_KIND_SERVER);
        break;
      case Call::kRpcClient:
      case Call::kDb:
        span.set_kind(otrace::Span::SPAN_KIND_CLIENT);
        break;
      case Call::kProducer:
        span.set_kind(otrace::Span::SPAN_KIND_PRODUCER);
        break;
      case Call::kConsumer:
        span.set_kind(otrace::Span::SPAN_KIND_CONSUMER);
        break;
      case Call::kInternal:
        span.set_kind(otrace::Span::SPAN_KIND_INTERNAL);
        break;
    }
    span.set_start_time_unix_nano(node.start_ns);
    span.set_end_time_unix_nano(node.end_ns);
    if (node.error) {
      span.mutable_status()->set_code(otrace::Status::STATUS_CODE_ERROR);
      if (static_cast<int>(i) == trace.error_span) {
        const Service& service = services_[node.service];
        const ExceptionText e =
            MakeException(service.language, service.name, node.name, node.call == Call::kDb);
        span.mutable_status()->set_message(e.message);
        otrace::Span::Event* event = span.add_events();
        event->set_time_unix_nano(node.end_ns - 1000);
        event->set_name("exception");
        Set(event->add_attributes(), "exception.type", e.type);
        Set(event->add_attributes(), "exception.message", e.message);
        Set(event->add_attributes(), "exception.stacktrace", e.stacktrace);
        SetBool(event->add_attributes(), "exception.escaped", false);
      }
    }
    trace.spans.push_back(std::move(g));
    AddAttributes(node, trace, static_cast<int>(i));
  }
  return trace;
}

void TraceGenerator::AddAttributes(const Node& node, GeneratedTrace& trace, int index) {
  otrace::Span& span = trace.spans[index].span;
  auto* attrs = span.mutable_attributes();
  const Service& service = services_[node.service];
  const int target = static_cast<int>(rng_.Range(options_.min_attributes, options_.max_attributes));
  auto rpc = [&](std::string_view op, int peer) {
    const size_t slash = op.rfind('/');
    Set(attrs->Add(), "rpc.system", "grpc");
    Set(attrs->Add(), "rpc.service", op.substr(0, slash));
    Set(attrs->Add(), "rpc.method", op.substr(slash + 1));
    SetInt(attrs->Add(), "rpc.grpc.status_code", node.error ? 14 : 0);
    Set(attrs->Add(), "server.address", services_[peer].name);
    SetInt(attrs->Add(), "server.port", 8080);
  };
  switch (node.call) {
    case Call::kRoot: {
      const std::string_view name = node.name;
      const size_t space = name.find(' ');
      Set(attrs->Add(), "http.request.method", name.substr(0, space));
      Set(attrs->Add(), "http.route", name.substr(space + 1));
      Set(attrs->Add(), "url.path",
          fmt::format("{}/{}", name.substr(space + 1), node.variant % 500));
      Set(attrs->Add(), "url.scheme", "https");
      SetInt(attrs->Add(), "http.response.status_code", node.error ? 500 : 200);
      Set(attrs->Add(), "server.address", "shop.example.com");
      SetInt(attrs->Add(), "server.port", 443);
      Set(attrs->Add(), "client.address", fmt::format("203.0.113.{}", node.variant % 250 + 1));
      Set(attrs->Add(), "user_agent.original",
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0");
      Set(attrs->Add(), "network.protocol.version", "1.1");
      break;
    }
    case Call::kRpcClient:
      rpc(node.name, node.peer);
      Set(attrs->Add(), "peer.service", services_[node.peer].name);
      break;
    case Call::kRpcServer:
      rpc(node.name, node.service);
      Set(attrs->Add(), "network.peer.address",
          fmt::format("10.0.{}.{}", node.variant % 8, node.variant % 200 + 2));
      break;
    case Call::kDb: {
      const char* statement = kStatements[node.variant % kStatements.size()];
      Set(attrs->Add(), "db.system", "postgresql");
      Set(attrs->Add(), "db.name", "shop");
      Set(attrs->Add(), "db.user", service.name);
      Set(attrs->Add(), "db.statement", statement);
      Set(attrs->Add(), "db.operation", std::string_view(statement).substr(0, 6));
      Set(attrs->Add(), "server.address", "postgres");
      SetInt(attrs->Add(), "server.port", 5432);
      Set(attrs->Add(), "peer.service", "postgres");
      break;
    }
    case Call::kProducer:
    case Call::kConsumer:
      Set(attrs->Add(), "messaging.system", "kafka");
      Set(attrs->Add(), "messaging.destination.name", "orders");
      Set(attrs->Add(), "messaging.operation",
          node.call == Call::kProducer ? "publish" : "process");
      SetInt(attrs->Add(), "messaging.kafka.destination.partition", node.variant % 12);
      Set(attrs->Add(), "messaging.message.id", fmt::format("{:08x}", node.variant));
      Set(attrs->Add(), "server.address", "kafka");
      if (node.call == Call::kConsumer) {
        Set(attrs->Add(), "messaging.kafka.consumer.group", services_[node.service].name);
      }
      break;
    case Call::kInternal:
      Set(attrs->Add(), "code.function", "process_request");
      Set(attrs->Add(), "code.namespace", service.name);
      Set(attrs->Add(), "code.filepath", fmt::format("/app/{}/handler", service.name));
      SetInt(attrs->Add(), "code.lineno", 40 + node.variant % 200);
      break;
  }
  // Application attributes fill up to the drawn count; the first ones of a service are stable.
  const size_t first = rng_.Range(0, kFillerKeys.size() - 1);
  for (size_t k = 0; attrs->size() < target && k < kFillerKeys.size(); ++k) {
    const char* key = kFillerKeys[(first + k) % kFillerKeys.size()];
    switch (k % 3) {
      case 0:
        Set(attrs->Add(), key, fmt::format("{}-{:x}", key + 4, rng_.Next() % 100000));
        break;
      case 1:
        SetInt(attrs->Add(), key, static_cast<int64_t>(rng_.Next() % 10000));
        break;
      default:
        SetBool(attrs->Add(), key, rng_.Chance(0.5));
    }
  }
  while (attrs->size() > target) attrs->RemoveLast();
}

}  // namespace oriel::loadgen
