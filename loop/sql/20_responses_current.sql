-- responses_current: the outcome that stands for each offer. A later response (by responded_on,
-- then import time, then row) supersedes an earlier one; every response stays in `responses`.
CREATE OR REPLACE VIEW responses_current AS
SELECT * FROM responses
QUALIFY row_number() OVER (PARTITION BY offer_no ORDER BY responded_on DESC, imported_at DESC, import_id DESC,
                                                          row_number DESC) = 1;
