// tools/evctl/validate.h
//
// `evctl validate`: checks a file of events against a directory of JSON
// Schemas (<event_type>.json, as eventd's EVENT_SERVICE_SCHEMAS), offline:
// no service is asked. One event per line, as the wire JSON or a POST
// /events body ({"event_type", "data", ...}); blank lines are skipped.
// Prints each failing line (its number, type, the path into data, the
// message and the failing keyword) and a summary; JSON lines with --json.
// Returns 0 when every event passes, 1 when one does not (or a line is no
// event), 2 when the file or the schemas cannot be read.
#pragma once

#include <string>

#include "tools/evctl/output.h"

namespace tradpal::evctl {

int validate_file(const std::string& path, const std::string& schemas_dir, Format format);

}  // namespace tradpal::evctl
