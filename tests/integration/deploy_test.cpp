// The files under deploy/, each checked against the real thing: the dashboard and the alert
// rules name only metrics the server serves; nginx (the shipped config, with this test's
// addresses and a throwaway certificate) balances two real instances, ends TLS, overwrites
// X-Forwarded-For and keeps /metrics away from clients; the systemd unit passes
// systemd-analyze verify. promtool's checks are ctest entries of their own (CMakeLists.txt).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string Deploy(const std::string& relative) { return std::string(DEPLOY_DIR) + "/" + relative; }

// Metric names in PromQL text (ours and the process metrics; `up` is Prometheus' own).
std::set<std::string> MetricNames(const std::string& text) {
  static const std::regex kName(R"(\b((?:assistantd|process)_[a-z0-9_]+)\b)");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), kName), end; it != end; ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

// Whether /metrics declares this series name (a histogram's _bucket/_sum/_count included).
bool Served(const std::string& metrics, const std::string& name) {
  if (metrics.find("# TYPE " + name + " ") != std::string::npos) return true;
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) {
      const std::string base = name.substr(0, name.size() - suffix.size());
      if (metrics.find("# TYPE " + base + " histogram") != std::string::npos) return true;
    }
  }
  return false;
}

TEST(DeployTest, TheDashboardAndTheAlertsNameOnlyMetricsTheServerServes) {
  if (TestingPostgres()) GTEST_SKIP() << "backup metrics exist on SQLite only";
  auto server = ServerProcess::Start({});
  HttpClient api(server->port());
  const std::string metrics = api.Call("GET", "/metrics", "").body;

  const json dashboard = json::parse(ReadFile(Deploy("grafana/assistantd-dashboard.json")));
  std::string queries;
  for (const auto& panel : dashboard["panels"]) {
    ASSERT_FALSE(panel["targets"].empty()) << panel["title"];
    for (const auto& target : panel["targets"]) queries += target["expr"].get<std::string>() + "\n";
  }
  const auto in_dashboard = MetricNames(queries);
  const auto in_alerts = MetricNames(ReadFile(Deploy("prometheus/alerts.yml")));
  ASSERT_GE(in_alerts.size(), 9u);
  for (const auto& set : {in_dashboard, in_alerts}) {
    for (const auto& name : set) EXPECT_TRUE(Served(metrics, name)) << name;
  }
  // The seed's KPIs: response times, CPU and memory, sync success.
  for (const std::string kpi :
       {"assistantd_http_request_duration_seconds_bucket", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "assistantd_sync_jobs_total"}) {
    EXPECT_TRUE(in_dashboard.count(kpi)) << kpi;
  }
}

struct Family {
  std::string type;
  std::set<std::string> labels;
};

// The families /metrics serves: type from # TYPE, label names from the series present.
std::map<std::string, Family> ServedFamilies(const std::string& metrics) {
  std::map<std::string, Family> out;
  static const std::regex kType(R"(^# TYPE (\S+) (\S+)$)");
  static const std::regex kLabel(R"(([a-z_]+)=")");
  std::istringstream in(metrics);
  std::string current;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kType)) {
      current = m[1];
      out[current].type = m[2];
    } else if (!line.starts_with("#") && !current.empty()) {
      const auto open = line.find('{');
      if (open == std::string::npos) continue;
      const std::string labels = line.substr(open, line.find('}') - open);
      for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
        if ((*it)[1] != "le") out[current].labels.insert((*it)[1]);
      }
    }
  }
  return out;
}

TEST(DeployTest, TheMetricsReferenceMatchesWhatIsServed) {
  if (TestingPostgres()) GTEST_SKIP() << "the SQLite server serves every unconditional family";
  auto server = ServerProcess::Start({});
  HttpClient api(server->port());
  // A little traffic so labelled series exist.
  const std::string token = server->Token(NewUuid());
  const auto created = api.Call("POST", "/v1/assistants", token, R"({"name":"m"})");
  ASSERT_EQ(created.status, 201);
  ASSERT_EQ(
      api.Call("GET", "/v1/assistants/" + created.Json()["id"].get<std::string>(), token).status,
      200);
  const auto served = ServedFamilies(api.Call("GET", "/metrics", "").body);

  const std::string docs = ReadFile(std::string(DOCS_DIR) + "/operations.md");
  static const std::regex kRow(R"(^\| `([a-z0-9_]+)` \| (\w+) \|([a-z_, ]*)\| (.*)\|$)");
  std::map<std::string, Family> documented;
  std::set<std::string> conditional;
  std::istringstream in(docs);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, kRow)) continue;
    Family f{m[2], {}};
    std::istringstream labels(m[3].str());
    for (std::string l; std::getline(labels, l, ',');) {
      l.erase(0, l.find_first_not_of(' '));
      l.erase(l.find_last_not_of(' ') + 1);
      if (!l.empty()) f.labels.insert(l);
    }
    documented[m[1]] = f;
    if (m[4].str().find("*(only") != std::string::npos) conditional.insert(m[1]);
  }
  ASSERT_GT(documented.size(), 40u);
  for (const auto& [name, family] : served) {
    const auto it = documented.find(name);
    if (it == documented.end()) {
      ADD_FAILURE() << name << " is served but not in docs/operations.md";
      continue;
    }
    EXPECT_EQ(it->second.type, family.type) << name;
    for (const auto& label : family.labels) {
      EXPECT_TRUE(it->second.labels.count(label)) << name << " " << label;
    }
  }
  for (const auto& [name, family] : documented) {
    if (!conditional.count(name)) {
      EXPECT_TRUE(served.count(name)) << name << " is documented, not served";
    }
  }
}

TEST(DeployTest, TheSystemdUnitPassesSystemdAnalyzeVerify) {
  if (TestingPostgres()) GTEST_SKIP() << "one check is enough";
  TempDir dir;
  // The unit as shipped, but for where the binary is (verify checks that it exists).
  std::string unit = ReadFile(Deploy("systemd/assistantd.service"));
  const std::string installed = "/usr/local/bin/assistantd";
  ASSERT_NE(unit.find("ExecStart=" + installed + " serve"), std::string::npos);
  for (auto at = unit.find(installed); at != std::string::npos; at = unit.find(installed, at)) {
    unit.replace(at, installed.size(), AssistantdBinary());
  }
  const std::string path = dir.path() + "/assistantd.service";
  WriteFile(path, unit);
  const auto verify = RunCommand({"/usr/bin/systemd-analyze", "verify", path});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.err, "");
  const auto security = RunCommand(
      {"/usr/bin/systemd-analyze", "security", "--offline=true", "--threshold=20", path});
  EXPECT_EQ(security.exit_code, 0) << security.out << security.err;
  EXPECT_NE(security.out.find("Overall exposure level"), std::string::npos) << security.out;
}

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void Replace(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

int CountAccessLines(const std::string& logs, const std::string& route) {
  int n = 0;
  std::istringstream in(logs);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"route\":\"" + route + "\"") != std::string::npos) ++n;
  }
  return n;
}

class NginxTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!conf_.empty()) RunCommand({"/usr/sbin/nginx", "-c", conf_, "-s", "stop"});
  }

  // curl through nginx: status code, then the body.
  std::pair<int, std::string> Curl(const std::string& method, const std::string& path,
                                   const std::string& token, const std::string& body = "",
                                   std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sk", "--cacert", cert_, "-X",
                                     method,          "-o",  out_,       "-w",  "%{http_code}"};
    if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    if (!body.empty()) {
      argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data", body});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(path.starts_with("http") ? path
                                            : "https://127.0.0.1:" + std::to_string(https_) + path);
    const auto r = RunCommand(argv);
    return {r.out.empty() ? -1 : std::stoi(r.out), ReadFile(out_)};
  }

  TempDir dir_;
  std::string conf_, cert_, out_;
  uint16_t https_ = 0;
};

TEST_F(NginxTest, TwoInstancesBehindTheShippedConfig) {
  if (!TestingPostgres()) GTEST_SKIP() << "several instances share PostgreSQL only";
  // Two instances on one database, trusting only nginx (loopback here).
  const std::string database = PostgresDatabaseUrl(dir_.path() + "/shared");
  ServerProcess::Options o;
  o.database_url = database;
  o.data_dir = dir_.path();
  o.args = {"--trusted-proxies", "127.0.0.1", "--sync-workers", "0"};
  auto a = ServerProcess::Start(o);
  auto b = ServerProcess::Start(o);

  const std::string d = dir_.path();
  cert_ = d + "/cert.pem";
  out_ = d + "/body";
  const auto cert = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/key.pem",
                                "-out", cert_, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                                "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(cert.exit_code, 0) << cert.err;
  std::string conf = ReadFile(Deploy("nginx/assistantd.conf"));
  https_ = FreePort();
  const uint16_t http = FreePort();
  Replace(conf, "127.0.0.1:8081", "127.0.0.1:" + std::to_string(a->port()));
  Replace(conf, "127.0.0.1:8082", "127.0.0.1:" + std::to_string(b->port()));
  Replace(conf, "listen 443 ssl", "listen 127.0.0.1:" + std::to_string(https_) + " ssl");
  Replace(conf, "listen 80;", "listen 127.0.0.1:" + std::to_string(http) + ";");
  Replace(conf, "/etc/ssl/assistantd/fullchain.pem", cert_);
  Replace(conf, "/etc/ssl/assistantd/privkey.pem", d + "/key.pem");
  Replace(conf, "/run/nginx-assistantd.pid", d + "/nginx.pid");
  Replace(conf, "/var/log/nginx/assistantd-error.log", d + "/error.log");
  Replace(conf, "/var/log/nginx/assistantd-access.log", d + "/access.log");
  // Temporary files in the test's directory (Debian's are root's).
  Replace(conf, "http {",
          "http {\n    client_body_temp_path " + d + "/body-temp;\n" + "    proxy_temp_path " + d +
              "/proxy-temp;\n");
  const std::string path = d + "/nginx.conf";
  WriteFile(path, conf);
  const auto checked = RunCommand({"/usr/sbin/nginx", "-t", "-c", path, "-e", d + "/error.log"});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  const auto started = RunCommand({"/usr/sbin/nginx", "-c", path, "-e", d + "/error.log"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  conf_ = path;

  const std::string token = a->Token(NewUuid());
  // A client that claims another address through X-Forwarded-For.
  const auto created = Curl("POST", "/v1/assistants", token, R"({"name":"Behind nginx"})",
                            {"-H", "X-Forwarded-For: 203.0.113.9"});
  ASSERT_EQ(created.first, 201) << created.second;
  const std::string id = json::parse(created.second)["id"];
  for (int i = 0; i < 12; ++i) {
    const auto got =
        Curl("GET", "/v1/assistants/" + id, token, "", {"-H", "X-Forwarded-For: 203.0.113.9"});
    ASSERT_EQ(got.first, 200) << got.second;
    EXPECT_EQ(json::parse(got.second)["name"], "Behind nginx");
  }
  // Both instances served reads; neither believed the client's address.
  EXPECT_GT(CountAccessLines(a->Logs(), "/v1/assistants/{id}"), 0) << a->Logs();
  EXPECT_GT(CountAccessLines(b->Logs(), "/v1/assistants/{id}"), 0) << b->Logs();
  for (const auto* s : {a.get(), b.get()}) {
    EXPECT_EQ(s->Logs().find("203.0.113.9"), std::string::npos);
    EXPECT_NE(s->Logs().find(R"("remoteIp":"127.0.0.1")"), std::string::npos);
  }
  // /metrics is not for clients; plain HTTP only redirects.
  EXPECT_EQ(Curl("GET", "/metrics", "").first, 403);
  EXPECT_EQ(Curl("GET", "http://127.0.0.1:" + std::to_string(http) + "/healthz", "").first, 308);

  // The post-deploy check, through nginx and TLS as clients see it (nginx keeps /metrics to
  // itself, so metrics are read from an instance).
  const auto smoke =
      RunCommand({AssistantdBinary(), "smoke", "--url",
                  "https://127.0.0.1:" + std::to_string(https_), "--cacert", cert_, "--metrics-url",
                  "http://127.0.0.1:" + std::to_string(a->port()) + "/metrics"},
                 {{"ASSISTANTD_SMOKE_TOKEN", token}});
  EXPECT_EQ(smoke.exit_code, 0) << smoke.out << smoke.err;
  EXPECT_NE(smoke.out.find("smoke: passed, 10 checks"), std::string::npos) << smoke.out;

  // One instance goes away: the other answers every request.
  ASSERT_EQ(a->Stop(), 0);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Curl("GET", "/v1/assistants/" + id, token).first, 200);
  }
  const auto after = Curl("PATCH", "/v1/assistants/" + id, token, R"({"name":"Still here"})");
  EXPECT_EQ(after.first, 200) << after.second;
}

}  // namespace
}  // namespace assistantd::testing
