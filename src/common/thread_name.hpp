#pragma once

#include <pthread.h>

namespace assistantd {

// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it (at most 15 characters:
// Linux cuts longer names).
inline void NameThisThread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace assistantd
