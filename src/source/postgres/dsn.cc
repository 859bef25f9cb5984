#include "source/postgres/dsn.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace ward::source::pg {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Lower-cases ASCII letters only, as PostgreSQL folds unquoted identifiers
// in UTF-8 databases.
std::string FoldAscii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IdentStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IdentChar(unsigned char c) { return IdentStart(c) || (c >= '0' && c <= '9') || c == '$'; }

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// True if a malformed DSN could hold a password (a "password" keyword, or a
// URI with user:secret@), so that no fragment of it may be repeated.
bool MayHoldSecret(const std::string& dsn) {
  if (FoldAscii(dsn).find("password") != std::string::npos) return true;
  size_t scheme = dsn.find("://");
  if (scheme == std::string::npos) return false;
  std::string authority = dsn.substr(scheme + 3, dsn.find('/', scheme + 3) - (scheme + 3));
  size_t at = authority.rfind('@');
  return at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos;
}

}  // namespace

Result<ConnInfo> ConnInfo::Parse(const std::string& dsn, const std::string& what) {
  if (Trim(dsn).empty()) {
    return InvalidArgumentError(what +
                                " is empty: give a DSN such as postgresql://user@host:5432/dbname");
  }
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts(
      PQconninfoParse(dsn.c_str(), &err), PQconninfoFree);
  if (!opts) {
    std::string detail = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    // libpq quotes the offending fragment; if the text mentions a password,
    // that fragment could be it.
    if (MayHoldSecret(dsn)) detail = "syntax error";
    return InvalidArgumentError(
        what + " is not a valid PostgreSQL DSN (" + detail +
        "): write postgresql://user@host:5432/dbname or 'host=... dbname=...'");
  }
  ConnInfo info;
  for (PQconninfoOption* o = opts.get(); o->keyword; ++o) {
    if (!o->val) continue;
    std::string key = o->keyword, val = o->val;
    if ((key == "password" || key == "sslpassword") && !val.empty()) {
      return InvalidArgumentError(
          what + " contains a " + (key == "password" ? "password" : "SSL key passphrase") +
          ": ward never takes secrets in a DSN (they would show in process lists, plans and logs); "
          "remove it and set PGPASSWORD, or add a line host:port:dbname:user:password to ~/.pgpass "
          "(mode 0600)");
    }
    if (val.empty()) continue;
    if (key == "port") {
      // libpq checks ports only when it connects; say it now, plainly.
      bool ok = true;
      for (const auto& p : SplitTableList(val)) {
        ok &= !p.empty() && p.size() <= 5 &&
              p.find_first_not_of("0123456789") == std::string::npos && std::stoi(p) > 0 &&
              std::stoi(p) < 65536;
      }
      if (!ok)
        return InvalidArgumentError(what + ": port '" + val + "' is not a port number (1-65535)");
    }
    info.params_.emplace_back(std::move(key), std::move(val));
  }
  return info;
}

std::string ConnInfo::Get(const std::string& key) const {
  for (const auto& [k, v] : params_) {
    if (k == key) return v;
  }
  return "";
}

std::string ConnInfo::Endpoint() const {
  std::string host = Get("host");
  if (host.empty()) host = Get("hostaddr");
  if (host.empty()) host = Env("PGHOST");
  if (host.empty()) host = Env("PGHOSTADDR");
  if (host.empty()) host = "localhost";
  std::string port = Get("port");
  if (port.empty()) port = Env("PGPORT");
  if (port.empty()) port = "5432";
  if (!host.empty() && host[0] == '/') return host + " (socket, port " + port + ")";
  if (host.find(':') != std::string::npos && host.find(',') == std::string::npos) {
    return "[" + host + "]:" + port;  // IPv6 literal
  }
  return host + ":" + port;
}

std::string ConnInfo::Describe(const std::string& db) const {
  if (db.empty()) return "PostgreSQL at " + Endpoint();
  return "database '" + db + "' at " + Endpoint();
}

std::vector<std::pair<std::string, std::string>> ConnInfo::Params(const std::string& dbname) const {
  std::vector<std::pair<std::string, std::string>> out;
  bool has_timeout = !Env("PGCONNECT_TIMEOUT").empty();
  bool has_db = false;
  for (const auto& [k, v] : params_) {
    if (k == "connect_timeout") has_timeout = true;
    if (k == "dbname") {
      has_db = true;
      out.emplace_back(k, dbname.empty() ? v : dbname);
      continue;
    }
    out.emplace_back(k, v);
  }
  if (!has_db && !dbname.empty()) out.emplace_back("dbname", dbname);
  if (!has_timeout)
    out.emplace_back("connect_timeout", std::to_string(kDefaultConnectTimeoutSeconds));
  return out;
}

std::string ConnInfo::ToConninfo(const std::string& dbname) const {
  std::string out;
  for (const auto& [k, v] : Params(dbname)) {
    if (!out.empty()) out += ' ';
    out += k;
    out += "='";
    for (char c : v) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out;
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(std::string_view text) {
  bool backslash = text.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : text) {
    if (c == '\'' || (backslash && c == '\\')) out += c;
    out += c;
  }
  out += '\'';
  return out;
}

std::string QualifiedName::Quoted() const {
  return schema.empty() ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name);
}

Result<QualifiedName> ParseQualifiedName(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("table name '" + std::string(text) + "' " + why +
                                ": write name, schema.name, or \"Quoted Name\"");
  };
  std::vector<std::string> parts;
  size_t i = 0;
  const std::string s = Trim(text);
  if (s.empty()) return bad("is empty");
  for (;;) {
    std::string part;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            part += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        part += s[i++];
      }
      if (!closed) return bad("has an unterminated double quote");
      if (part.empty()) return bad("has an empty quoted part");
    } else {
      size_t b = i;
      if (i >= s.size() || !IdentStart(static_cast<unsigned char>(s[i]))) {
        return bad("is not a valid identifier");
      }
      while (i < s.size() && IdentChar(static_cast<unsigned char>(s[i]))) ++i;
      part = FoldAscii(s.substr(b, i - b));
    }
    parts.push_back(std::move(part));
    if (i == s.size()) break;
    if (s[i] != '.') return bad("is not a valid identifier (quote names with spaces or capitals)");
    ++i;
  }
  if (parts.size() > 2) return bad("has more than two parts");
  if (parts.size() == 2) return QualifiedName{parts[0], parts[1]};
  return QualifiedName{"", parts[0]};
}

std::vector<std::string> SplitTableList(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      std::string t = Trim(cur);
      if (!t.empty()) out.push_back(t);
      cur.clear();
      continue;
    }
    cur += c;
  }
  std::string t = Trim(cur);
  if (!t.empty()) out.push_back(t);
  return out;
}

}  // namespace ward::source::pg
