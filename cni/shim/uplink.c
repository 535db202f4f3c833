/*
 * uplink — the CNI plugin executable the container runtime calls.
 *
 * A thin shim: the networking work happens in the node agent (uplinkd), which holds the IPAM datastore,
 * the attachment records and the netlink socket. The shim answers VERSION itself (so a runtime can probe
 * it with no agent running) and forwards every other command to the agent over a unix socket:
 *
 *   request  = "KEY=VALUE\n" for each CNI_* environment variable, one empty line, then stdin verbatim
 *   (the writer half-closes the socket to mark the end)
 *   reply    = "<exit code>\n" then the bytes to print on stdout (a result or a CNI error object)
 *
 * The socket path comes from the network config key "agentSocket" (default /run/uplink/cni.sock).
 * If the agent cannot be reached the shim prints CNI error 11 ("try again later", CNI SPEC "Error"),
 * at once when connect() fails and after agentTimeoutMs (default 30 s) when the agent stops answering,
 * so a runtime never hangs on a dead agent.
 *
 * The config is not parsed as full JSON here: only two top-level string/number values are looked up by
 * key (agentSocket, agentTimeoutMs) plus cniVersion for error objects. The agent does the real parsing
 * and validation (error 6/7).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/uplink/cni.sock"
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_STDIN (16 * 1024 * 1024)

/* CNI SPEC "Error" well-known codes used by the shim itself. */
enum { CNI_ERR_INCOMPATIBLE_VERSION = 1, CNI_ERR_INVALID_ENV = 4, CNI_ERR_IO = 5, CNI_ERR_TRY_AGAIN = 11 };

static const char *const SUPPORTED_VERSIONS =
    "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]";

struct buf {
  char *data;
  size_t len;
  size_t cap;
};

static int buf_append(struct buf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

/* Writes s as a JSON string body (without quotes), escaping what JSON requires. */
static void json_escape(FILE *out, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
}

/*
 * Finds `"key"` followed by ':' in the config and copies the scalar value (string contents, or a bare
 * number) into out. Returns 1 when found. A minimal scan, not a JSON parser: enough for flat keys whose
 * names do not occur inside other strings of a CNI config.
 */
static int find_scalar(const char *json, const char *key, char *out, size_t outlen) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = json;
  while ((p = strstr(p, pat)) != NULL) {
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != ':') continue;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    size_t n = 0;
    if (*p == '"') {
      p++;
      while (*p && *p != '"' && n + 1 < outlen) {
        if (*p == '\\' && p[1]) p++;
        out[n++] = *p++;
      }
    } else {
      while (*p && (*p == '-' || *p == '.' || (*p >= '0' && *p <= '9')) && n + 1 < outlen) out[n++] = *p++;
    }
    out[n] = '\0';
    return n > 0;
  }
  return 0;
}

static void print_error(const char *cni_version, int code, const char *msg, const char *details) {
  fputs("{\"cniVersion\":\"", stdout);
  json_escape(stdout, cni_version);
  printf("\",\"code\":%d,\"msg\":\"", code);
  json_escape(stdout, msg);
  fputs("\",\"details\":\"", stdout);
  json_escape(stdout, details);
  fputs("\"}\n", stdout);
  fflush(stdout);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_stdin(struct buf *in) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(STDIN_FILENO, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return 0;
    if (in->len + (size_t)r > MAX_STDIN || buf_append(in, chunk, (size_t)r) < 0) return -1;
  }
}

int main(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  struct buf in = {0};
  const char *command = getenv("CNI_COMMAND");
  if (read_stdin(&in) < 0) {
    print_error("1.1.0", CNI_ERR_IO, "uplink: cannot read the network configuration from stdin", strerror(errno));
    return 1;
  }
  if (!in.data) buf_append(&in, "", 0);

  char version[32] = "1.1.0";
  find_scalar(in.data, "cniVersion", version, sizeof version);

  if (!command || !*command) {
    print_error(version, CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set",
                "the runtime must set CNI_COMMAND to ADD, DEL, CHECK, GC, STATUS or VERSION (CNI SPEC, Parameters)");
    return 1;
  }
  if (strcmp(command, "VERSION") == 0) {
    /* CNI SPEC "VERSION": answered without the agent so a runtime can probe the plugin. */
    printf("{\"cniVersion\":\"1.1.0\",\"supportedVersions\":%s}\n", SUPPORTED_VERSIONS);
    return 0;
  }

  char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = DEFAULT_SOCKET;
  find_scalar(in.data, "agentSocket", sock_path, sizeof sock_path);
  char timeout_str[24];
  long timeout_ms = DEFAULT_TIMEOUT_MS;
  if (find_scalar(in.data, "agentTimeoutMs", timeout_str, sizeof timeout_str)) {
    long t = strtol(timeout_str, NULL, 10);
    if (t > 0) timeout_ms = t;
  }

  struct buf req = {0};
  for (char **e = envp; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0 || strchr(*e, '\n')) continue;
    buf_append(&req, *e, strlen(*e));
    buf_append(&req, "\n", 1);
  }
  buf_append(&req, "\n", 1);
  buf_append(&req, in.data, in.len);

  char details[512];
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, sock_path, strlen(sock_path)); /* find_scalar bounded it below sun_path */
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    snprintf(details, sizeof details, "connect %s: %s; is uplinkd running on this node?", sock_path, strerror(errno));
    print_error(version, CNI_ERR_TRY_AGAIN, "uplink agent is not reachable", details);
    return 1;
  }
  if (write_all(fd, req.data, req.len) < 0) {
    snprintf(details, sizeof details, "write to %s: %s", sock_path, strerror(errno));
    print_error(version, CNI_ERR_TRY_AGAIN, "uplink agent closed the connection", details);
    return 1;
  }
  shutdown(fd, SHUT_WR);

  struct buf reply = {0};
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      snprintf(details, sizeof details, "no reply from %s within %ld ms", sock_path, timeout_ms);
      print_error(version, CNI_ERR_TRY_AGAIN, "uplink agent did not answer in time", details);
      return 1;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pr == 0) continue;
    char chunk[65536];
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) break;
    buf_append(&reply, chunk, (size_t)r);
  }
  close(fd);

  char *nl = reply.data ? memchr(reply.data, '\n', reply.len) : NULL;
  if (!nl) {
    snprintf(details, sizeof details, "the agent at %s closed the connection without a reply", sock_path);
    print_error(version, CNI_ERR_TRY_AGAIN, "uplink agent failed while handling the request", details);
    return 1;
  }
  int code = atoi(reply.data);
  size_t body = (size_t)(nl - reply.data) + 1;
  fwrite(reply.data + body, 1, reply.len - body, stdout);
  fflush(stdout);
  return code;
}
