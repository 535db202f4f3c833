# Native parts of Uplink, built by node-gyp during `npm install`/`npm ci` (needs g++, make, python3 and
# the node headers). One entry per target; append new targets to the list.
{
  "targets": [
    {
      # routes/netlink's addon: rtnetlink sockets, netns-aware sysctls, TCP socket options, flock.
      "target_name": "uplink_netlink",
      "sources": [
        "native/netlink/addon.cc",
        "native/netlink/netlink.cc",
        "native/netlink/netns.cc",
        "native/netlink/sockopt.cc",
        "native/netlink/icmp6.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    },
    {
      # cni/shim: the `uplink` CNI executable (C, no Node): answers VERSION, forwards the rest to uplinkd.
      # Built as build/Release/uplink_cni_shim; cni/install.ts copies it to the CNI bin dir as `uplink`.
      "target_name": "uplink_cni_shim",
      "type": "executable",
      "sources": ["cni/shim/uplink.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    },
    {
      # bfd/'s addon: a thread that owns the BFD UDP sockets, transmits on schedule, reads TTLs for GTSM
      # and runs detection timers (native/bfd/engine.h says why).
      "target_name": "uplink_bfd",
      "sources": ["native/bfd/addon.cc", "native/bfd/engine.cc", "native/netlink/netns.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
]
}
