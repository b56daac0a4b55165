#include "auth/secret_box.hpp"

#include <gtest/gtest.h>

namespace assistantd::auth {
namespace {

TEST(SecretBoxTest, SealsAndOpens) {
  const SecretBox box(std::string(32, 'k'));
  const auto sealed = box.Seal("sk_live_secret_value");
  EXPECT_EQ(sealed.find("sk_live_secret_value"), std::string::npos);
  EXPECT_EQ(box.Open(sealed), "sk_live_secret_value");
  EXPECT_NE(box.Seal("same"), box.Seal("same"));  // fresh nonce every time
}

TEST(SecretBoxTest, RefusesTamperedShortOrForeignValues) {
  const SecretBox box(std::string(32, 'k'));
  const SecretBox other(std::string(32, 'x'));
  auto sealed = box.Seal("value");
  EXPECT_FALSE(other.Open(sealed));
  sealed.back() = static_cast<char>(sealed.back() ^ 1);
  EXPECT_FALSE(box.Open(sealed));
  EXPECT_FALSE(box.Open("short"));
  EXPECT_THROW(SecretBox(std::string(16, 'k')), std::invalid_argument);
}

TEST(SecretBoxTest, MasksAllButTheLastFour) {
  EXPECT_EQ(MaskSecret("abcdefghijkl"), "••••ijkl");
  EXPECT_EQ(MaskSecret("short"), "••••");
}

}  // namespace
}  // namespace assistantd::auth
