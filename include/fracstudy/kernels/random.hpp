#pragma once
/// Portable random numbers: the same seed gives the same stream with every compiler and
/// standard library (std:: distributions differ between libraries, so none is used).
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>

namespace fracstudy::kernels {

__extension__ using Uint128 = unsigned __int128;  // GCC/Clang extension, for Lemire's method

/// One step of SplitMix64: a strong 64-bit mixer, used to seed and to hash.
constexpr std::uint64_t split_mix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Mixes `value` into a running 64-bit hash (order-sensitive).
constexpr std::uint64_t hash_combine(std::uint64_t hash, std::uint64_t value) {
  std::uint64_t state = hash ^ (value + 0x9E3779B97F4A7C15ULL + (hash << 6) + (hash >> 2));
  return split_mix64(state);
}

/// Mixes the bytes of `text` (and its length) into a running hash.
constexpr std::uint64_t hash_combine(std::uint64_t hash, std::string_view text) {
  std::uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a over the bytes, then mixed
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return hash_combine(hash_combine(hash, h), text.size());
}

/// xoshiro256** (Blackman & Vigna): fast, 256-bit state, passes BigCrush.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : state_)
      word = split_mix64(seed);
  }

  /// The next raw 64-bit output.
  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform double in (0, 1]: safe to take the logarithm of.
  double uniform_open_zero() { return 1.0 - uniform(); }

  /// Uniform integer in [0, n) without modulo bias (Lemire's method).
  std::uint64_t below(std::uint64_t n) {
    Uint128 product = static_cast<Uint128>(next()) * n;
    auto low = static_cast<std::uint64_t>(product);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        product = static_cast<Uint128>(next()) * n;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

  /// True with probability p (p >= 1 consumes no random number).
  bool bernoulli(double p) { return p >= 1.0 || uniform() < p; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4]{};
};

}  // namespace fracstudy::kernels
