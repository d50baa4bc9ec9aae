#include "common/md5.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string_view>

namespace sluice {
namespace {

constexpr int kLanes = 8;

constexpr uint32_t kK[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr int kS[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                        5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
constexpr int Word(int i) {
  return i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16;
}

inline uint32_t Rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// One stream, one block at a time: for machines without AVX2, and the reference.
void CompressScalar(uint32_t h[4], const unsigned char* p) {
  uint32_t m[16];
  std::memcpy(m, p, 64);  // MD5 is little-endian, as is every machine this builds for
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  // The sums are ordered so that the terms not depending on b, the newest value, are
  // added first: only the last add and the rotate wait for it. (G, whose two halves have
  // no bits in common, is two ands added, with the half without b added early.)
#pragma GCC unroll 64
  for (int i = 0; i < 64; ++i) {
    uint32_t x = a + kK[i] + m[Word(i)];
    if (i < 16) {
      x += d ^ (b & (c ^ d));
    } else if (i < 32) {
      x += (c & ~d);
      x += (b & d);
    } else if (i < 48) {
      x += b ^ c ^ d;
    } else {
      x += c ^ (b | ~d);
    }
    uint32_t t = d;
    d = c;
    c = b;
    b = b + Rotl(x, kS[i]);
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

// `blocks` blocks of each lane: lane l hashes p[l] into h[l]; an inactive lane has
// h[l] == nullptr and reads a zero block over and over.
using BlocksFn = void (*)(uint32_t* const h[kLanes], const unsigned char* const p[kLanes],
                          size_t blocks);

void BlocksScalar(uint32_t* const h[kLanes], const unsigned char* const p[kLanes], size_t blocks) {
  for (int l = 0; l < kLanes; ++l) {
    if (!h[l]) continue;
    for (size_t b = 0; b < blocks; ++b) CompressScalar(h[l], p[l] + 64 * b);
  }
}

alignas(64) const unsigned char kZeroBlock[64] = {};

// Eight streams in the 32-bit lanes of 256-bit registers. Each block's 16 message words
// are loaded as two rows per lane and transposed 8x8, so word w of every lane sits in one
// register. The body is a macro so that it compiles twice: for AVX2 (rotates as two
// shifts and an or, the round functions as two or three logic ops) and for AVX-512VL,
// whose vprold and vpternlogd do each in one instruction.
#define SLUICE_MD5_LANES_BODY(FF, GG, HH, II, ROTL)                                           \
  uint32_t st[4][kLanes], dummy[4] = {};                                                      \
  for (int l = 0; l < kLanes; ++l) {                                                          \
    const uint32_t* s = h[l] ? h[l] : dummy;                                                  \
    for (int j = 0; j < 4; ++j) st[j][l] = s[j];                                              \
  }                                                                                           \
  __m256i A = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(st[0]));                    \
  __m256i B = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(st[1]));                    \
  __m256i C = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(st[2]));                    \
  __m256i D = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(st[3]));                    \
  [[maybe_unused]] const __m256i ones = _mm256_set1_epi32(-1);                                \
  const unsigned char* src[kLanes];                                                           \
  size_t stride[kLanes];                                                                      \
  for (int l = 0; l < kLanes; ++l) {                                                          \
    src[l] = h[l] ? p[l] : kZeroBlock;                                                        \
    stride[l] = h[l] ? 64 : 0;                                                                \
  }                                                                                           \
  for (size_t blk = 0; blk < blocks; ++blk) {                                                 \
    __m256i m[16];                                                                            \
    for (size_t half = 0; half < 2; ++half) {                                                 \
      __m256i r[kLanes];                                                                      \
      for (int l = 0; l < kLanes; ++l)                                                        \
        r[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[l] + 32 * half));      \
      __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]); \
      __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]); \
      __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]); \
      __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]); \
      __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);         \
      __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);         \
      __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);         \
      __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);         \
      __m256i* w = m + 8 * half;                                                              \
      w[0] = _mm256_permute2x128_si256(u0, u4, 0x20);                                         \
      w[1] = _mm256_permute2x128_si256(u1, u5, 0x20);                                         \
      w[2] = _mm256_permute2x128_si256(u2, u6, 0x20);                                         \
      w[3] = _mm256_permute2x128_si256(u3, u7, 0x20);                                         \
      w[4] = _mm256_permute2x128_si256(u0, u4, 0x31);                                         \
      w[5] = _mm256_permute2x128_si256(u1, u5, 0x31);                                         \
      w[6] = _mm256_permute2x128_si256(u2, u6, 0x31);                                         \
      w[7] = _mm256_permute2x128_si256(u3, u7, 0x31);                                         \
    }                                                                                         \
    for (int l = 0; l < kLanes; ++l) src[l] += stride[l];                                     \
    __m256i a = A, b = B, c = C, d = D;                                                       \
    _Pragma("GCC unroll 64") for (int i = 0; i < 64; ++i) {                                   \
      __m256i f;                                                                              \
      if (i < 16) {                                                                           \
        f = FF;                                                                               \
      } else if (i < 32) {                                                                    \
        f = GG;                                                                               \
      } else if (i < 48) {                                                                    \
        f = HH;                                                                               \
      } else {                                                                                \
        f = II;                                                                               \
      }                                                                                       \
      __m256i x = _mm256_add_epi32(_mm256_add_epi32(a, f),                                    \
                                   _mm256_add_epi32(m[Word(i)], _mm256_set1_epi32(kK[i])));   \
      x = ROTL(x, kS[i]);                                                                     \
      __m256i t = d;                                                                          \
      d = c;                                                                                  \
      c = b;                                                                                  \
      b = _mm256_add_epi32(b, x);                                                             \
      a = t;                                                                                  \
    }                                                                                         \
    A = _mm256_add_epi32(A, a);                                                               \
    B = _mm256_add_epi32(B, b);                                                               \
    C = _mm256_add_epi32(C, c);                                                               \
    D = _mm256_add_epi32(D, d);                                                               \
  }                                                                                           \
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(st[0]), A);                                  \
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(st[1]), B);                                  \
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(st[2]), C);                                  \
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(st[3]), D);                                  \
  for (int l = 0; l < kLanes; ++l)                                                            \
    if (h[l])                                                                                 \
      for (int j = 0; j < 4; ++j) h[l][j] = st[j][l];

#define SLUICE_ROTL_AVX2(x, s) \
  _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
__attribute__((target("avx2"))) void BlocksAvx2(uint32_t* const h[kLanes],
                                                const unsigned char* const p[kLanes],
                                                size_t blocks) {
  SLUICE_MD5_LANES_BODY(_mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d))),
                        _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c))),
                        _mm256_xor_si256(_mm256_xor_si256(b, c), d),
                        _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones))),
                        SLUICE_ROTL_AVX2);
}

// The rotate takes its count in a register (vprolvd), which needs no unrolled constant.
#define SLUICE_ROTL_AVX512(x, s) _mm256_rolv_epi32(x, _mm256_set1_epi32(s))
// vpternlogd's immediates are the truth tables of (b, c, d): F = b ? c : d (0xCA),
// G = d ? b : c (0xE4), H = b ^ c ^ d (0x96), I = c ^ (b | ~d) (0x39).
__attribute__((target("avx2,avx512f,avx512vl"))) void BlocksAvx512(
    uint32_t* const h[kLanes], const unsigned char* const p[kLanes], size_t blocks) {
  SLUICE_MD5_LANES_BODY(_mm256_ternarylogic_epi32(b, c, d, 0xCA),
                        _mm256_ternarylogic_epi32(b, c, d, 0xE4),
                        _mm256_ternarylogic_epi32(b, c, d, 0x96),
                        _mm256_ternarylogic_epi32(b, c, d, 0x39), SLUICE_ROTL_AVX512);
}
#undef SLUICE_ROTL_AVX2
#undef SLUICE_ROTL_AVX512
#undef SLUICE_MD5_LANES_BODY

std::atomic<int> force_kernel{0};  // 0: the best, 1: scalar, 2: AVX2

BlocksFn Kernel() {
  static const BlocksFn best = __builtin_cpu_supports("avx512vl") ? BlocksAvx512
                               : __builtin_cpu_supports("avx2")   ? BlocksAvx2
                                                                  : BlocksScalar;
  static const BlocksFn avx2 = __builtin_cpu_supports("avx2") ? BlocksAvx2 : BlocksScalar;
  switch (force_kernel.load(std::memory_order_relaxed)) {
    case 1:
      return BlocksScalar;
    case 2:
      return avx2;
    default:
      return best;
  }
}

}  // namespace

void Md5Stream::Reset() {
  h_[0] = 0x67452301;
  h_[1] = 0xefcdab89;
  h_[2] = 0x98badcfe;
  h_[3] = 0x10325476;
  len_ = 0;
  buf_len_ = 0;
}

const char* Md5Stream::Kernel() {
  BlocksFn k = sluice::Kernel();
  return k == BlocksAvx512 ? "avx512vl" : k == BlocksAvx2 ? "avx2" : "scalar";
}
void Md5Stream::ForceKernelForTesting(const char* name) {
  std::string_view n = name ? name : "";
  force_kernel = n == "scalar" ? 1 : n == "avx2" ? 2 : 0;
}

void Md5Stream::Update(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  len_ += n;
  if (buf_len_ > 0) {
    size_t k = std::min(n, 64 - buf_len_);
    std::memcpy(buf_ + buf_len_, p, k);
    buf_len_ += k;
    p += k;
    n -= k;
    if (buf_len_ < 64) return;
    CompressScalar(h_, buf_);
    buf_len_ = 0;
  }
  for (; n >= 64; p += 64, n -= 64) CompressScalar(h_, p);
  std::memcpy(buf_, p, n);
  buf_len_ = n;
}

std::string Md5Stream::Finish() {
  unsigned char pad[128] = {0x80};
  uint64_t bits = len_ * 8;
  size_t padlen = (buf_len_ < 56 ? 56 : 120) - buf_len_;
  for (int i = 0; i < 8; ++i) pad[padlen + i] = static_cast<unsigned char>(bits >> (8 * i));
  Update(pad, padlen + 8);
  std::string out(16, '\0');
  std::memcpy(out.data(), h_, 16);  // little-endian words, as the digest is defined
  Reset();
  return out;
}

std::string Md5Stream::Peek() const {
  Md5Stream copy = *this;
  return copy.Finish();
}

// Format: a version byte (1), the four state words and the length (little-endian), then the
// buffered tail (under 64 bytes).
std::string Md5Stream::SaveState() const {
  std::string out(1 + 16 + 8, '\0');
  out[0] = 1;
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 4; ++b) out[1 + 4 * i + b] = static_cast<char>(h_[i] >> (8 * b));
  for (int b = 0; b < 8; ++b) out[17 + b] = static_cast<char>(len_ >> (8 * b));
  out.append(reinterpret_cast<const char*>(buf_), buf_len_);
  return out;
}

bool Md5Stream::RestoreState(std::string_view s) {
  Reset();
  if (s.size() < 25 || s.size() >= 25 + 64 || s[0] != 1) return false;
  uint64_t len = 0;
  for (int b = 0; b < 8; ++b)
    len |= static_cast<uint64_t>(static_cast<unsigned char>(s[17 + b])) << (8 * b);
  if (len % 64 != s.size() - 25) return false;
  for (int i = 0; i < 4; ++i) {
    h_[i] = 0;
    for (int b = 0; b < 4; ++b)
      h_[i] |= static_cast<uint32_t>(static_cast<unsigned char>(s[1 + 4 * i + b])) << (8 * b);
  }
  len_ = len;
  buf_len_ = s.size() - 25;
  std::memcpy(buf_, s.data() + 25, buf_len_);
  return true;
}

// The combining engine: callers queue jobs (one stream's run of full blocks); whichever
// caller finds no leader becomes it and hashes the queued jobs eight lanes at a time,
// in rounds of at most kRound blocks so that newcomers join soon, until its own job is
// done; then it steps down and a caller still waiting takes over. Lane state lives in
// the jobs, so a hand-over loses nothing.
struct Md5Engine {
  struct Job {
    uint32_t* h = nullptr;
    const unsigned char* p = nullptr;
    size_t blocks = 0;
    bool done = false;
  };
  static constexpr size_t kRound = 256;  // 16 KiB per lane per round

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job*> queue;  // not yet in a lane
  Job* lanes[kLanes] = {};
  bool leading = false;

  static Md5Engine& Get() {
    static Md5Engine e;
    return e;
  }

  void Run(Job& mine) {
    std::unique_lock lk(mu);
    queue.push_back(&mine);
    for (;;) {
      if (mine.done) return;
      if (leading) {
        cv.wait(lk);
        continue;
      }
      leading = true;
      while (!mine.done) {
        for (auto& lane : lanes) {
          if (!lane && !queue.empty()) {
            lane = queue.front();
            queue.pop_front();
          }
        }
        size_t round = kRound;
        uint32_t* h[kLanes];
        const unsigned char* p[kLanes];
        for (int l = 0; l < kLanes; ++l) {
          h[l] = lanes[l] ? lanes[l]->h : nullptr;
          p[l] = lanes[l] ? lanes[l]->p : nullptr;
          if (lanes[l]) round = std::min(round, lanes[l]->blocks);
        }
        lk.unlock();
        // One stream alone goes faster through the scalar code than in one SIMD lane.
        int active = 0;
        for (auto* x : h) active += x != nullptr;
        (active == 1 ? BlocksScalar : Kernel())(h, p, round);
        lk.lock();
        bool finished = false;
        for (auto& lane : lanes) {
          if (!lane) continue;
          lane->p += 64 * round;
          lane->blocks -= round;
          if (lane->blocks == 0) {
            lane->done = true;
            lane = nullptr;
            finished = true;
          }
        }
        if (finished) cv.notify_all();
      }
      leading = false;
      cv.notify_all();  // a caller still waiting takes over the lanes
      return;
    }
  }
};

void Md5Stream::UpdateShared(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (buf_len_ > 0) {  // complete the buffered block on this thread
    size_t k = std::min(n, 64 - buf_len_);
    Update(p, k);
    p += k;
    n -= k;
  }
  size_t blocks = n / 64;
  if (blocks > 0) {
    Md5Engine::Job job{h_, p, blocks};
    Md5Engine::Get().Run(job);
    len_ += 64 * blocks;
    p += 64 * blocks;
    n -= 64 * blocks;
  }
  if (n > 0) Update(p, n);
}

}  // namespace sluice
