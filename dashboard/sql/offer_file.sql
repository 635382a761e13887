-- The offer PDF of one account of the run, if the account is visible under the current filters and scope
-- (`base`) and the run recorded a file for it; the path is relative to the run's output folder.
SELECT f.account_id, f.path, f.status, f.sha256, f.bytes, ru.output_folder
FROM base b
JOIN offers f ON f.run_id = b.run_id AND f.account_id = b.account_id
JOIN runs ru ON ru.run_id = f.run_id
WHERE b.account_id = $account_id AND f.status IN ('rendered', 'unchanged') AND f.path IS NOT NULL
