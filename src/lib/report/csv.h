/* report/csv.h - CSV output of the benchmarks (cxl_ring_direct --csv,
 * ring_pingpong --csv): one file appended to by every run. */
#ifndef CXL_REPORT_CSV_H
#define CXL_REPORT_CSV_H

#include <stdio.h>

/* Open a CSV file for appending (creating its directory); writes header
 * first when the file is new or empty. NULL on error (message set). */
FILE *cxl_csv_append(const char *path, const char *header);

/* One text field, quoted as RFC 4180 says when it holds a comma, a quote or
 * a line break (quotes doubled), as is otherwise. */
void cxl_csv_field(FILE *f, const char *text);

#endif
