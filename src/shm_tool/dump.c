/* dump.c - how `cxl_shm read` shows bytes: as text with every non-printable
 * byte escaped as \xNN (and the backslash itself as \\, so the output is
 * unambiguous), or as hexdump -C style lines labelled with medium offsets. */
#include <ctype.h>
#include <inttypes.h>

#include "shm_tool.h"

void shm_dump_text(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\\')
            fputs("\\\\", f);
        else if (p[i] < 0x80 && isprint(p[i]))
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
}

/* "00000010  41 42 ... 48  49 ... 50  |AB..HI..P|" */
static void hex_line(FILE *f, uint64_t at, const uint8_t *p, size_t n)
{
    fprintf(f, "%08" PRIx64 " ", at);
    for (size_t i = 0; i < 16; i++) {
        if (i == 8)
            fputc(' ', f);
        if (i < n)
            fprintf(f, " %02x", p[i]);
        else
            fputs("   ", f);
    }
    fputs("  |", f);
    for (size_t i = 0; i < n; i++)
        fputc(p[i] < 0x80 && isprint(p[i]) ? p[i] : '.', f);
    fputs("|\n", f);
}

void shm_dump_hex(FILE *f, uint64_t at, const uint8_t *p, size_t len)
{
    for (size_t off = 0; off < len; off += 16)
        hex_line(f, at + off, p + off, len - off < 16 ? len - off : 16);
}
