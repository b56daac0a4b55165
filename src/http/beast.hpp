#pragma once

// The one place that includes Boost.Asio/Beast. Boost 1.74's Asio uses std::exchange without
// including <utility>, which GCC 12 in C++20 mode needs first (so the formatter keeps the order).
// clang-format off
#include <utility>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
