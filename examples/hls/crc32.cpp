// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of a 64-byte message, bit-serial
// with the 8 bit steps of a byte unrolled.
#include <stdint.h>

#define LEN 64

uint32_t crc32(const uint8_t msg[LEN], uint32_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint32_t i = 0; i < len && i < LEN; i++) {
    crc ^= msg[i];
#pragma clang loop unroll(full)
    for (int b = 0; b < 8; b++)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}
