function __photoseal_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __photoseal_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __photoseal_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __photoseal_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __photoseal_parse_tokens -S
    set -l unparsed_tokens (__photoseal_tokens -pc)
    switch $unparsed_tokens[1]
    case 'photoseal'
        __photoseal_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'run'
            __photoseal_parse_subcommand 1 'workdir=' 'keys=' 'verbose' 'store=' 'flickr-endpoint=' 'vision-endpoint=' 'term=+' 'terms-file=' 'bbox=' 'antimeridian' 'min-taken=' 'max-taken=' 'limit=' 'api-key=' 'rate-per-hour=' 'search-concurrency=' 'max-file-size=' 'max-zip-size=' 'concurrency=' 'per-host=' 'size=' 'store-images=' 'image-store=' 'max-attempts=' 'transfer-timeout=' 'label=+' 'labels-file=' 'max-images=' 'max-cost=' 'vision-api-key=' 'score-concurrency=' 'batch-size=' 'retry-failed' 'progress=' 'shard=' 'plan=' 'force' 'update-job' 'dry-run' 'version' 'h/help'
        case 'plan'
            __photoseal_parse_subcommand 1 'workdir=' 'keys=' 'verbose' 'store=' 'flickr-endpoint=' 'shards=' 'plan=' 'force' 'term=+' 'terms-file=' 'bbox=' 'antimeridian' 'min-taken=' 'max-taken=' 'limit=' 'api-key=' 'rate-per-hour=' 'search-concurrency=' 'label=+' 'labels-file=' 'max-images=' 'max-cost=' 'size=' 'store-images=' 'image-store=' 'progress=' 'version' 'h/help'
        case 'search'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'progress=' 'flickr-endpoint=' 'term=+' 'terms-file=' 'bbox=' 'antimeridian' 'min-taken=' 'max-taken=' 'limit=' 'api-key=' 'rate-per-hour=' 'concurrency=' 'version' 'h/help'
        case 'import'
            __photoseal_parse_subcommand 1 'workdir=' 'keys=' 'verbose' 'progress=' 'concurrency=' 'store-images=' 'image-store=' 'max-file-size=' 'max-zip-size=' 'version' 'h/help'
        case 'download'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'progress=' 'concurrency=' 'per-host=' 'size=' 'store-images=' 'image-store=' 'max-attempts=' 'transfer-timeout=' 'retry-failed' 'limit=' 'extract' 'no-extract' 'version' 'h/help'
        case 'extract'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'progress=' 'retry-failed' 'version' 'h/help'
        case 'score'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'vision-endpoint=' 'label=+' 'labels-file=' 'max-images=' 'max-cost=' 'retry-failed' 'progress=' 'threshold=' 'dry-run' 'concurrency=' 'api-key=' 'version' 'h/help'
        case 'status'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'json' 'failures' 'version' 'h/help'
        case 'export'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'format=' 'out=' 'decrypt' 'pseudonymous' 'min-score=+' 'term=+' 'country=+' 'license=+' 'status=+' 'min-views=' 'min-width=' 'version' 'h/help'
        case 'serve'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'store=' 'host=' 'port=' 'form=' 'tiles=' 'worker' 'worker-interval=' 'flickr-endpoint=' 'vision-endpoint=' 'version' 'h/help'
        case 'pack'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'min-score=+' 'limit=' 'out=' 'upload=' 'part-size=' 'link-expires=' 'notify=' 'at=' 'include-all-rights-reserved' 'attribution' 'pseudonymous' 'version' 'h/help'
        case 'deliver'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'store=' 'flickr-endpoint=' 'vision-endpoint=' 'due' 'version' 'h/help'
        case 'exif'
            __photoseal_parse_subcommand -r 1 'json' 'version' 'h/help'
        case 'geocode'
            __photoseal_parse_subcommand -r 1 'csv' 'json' 'max-km=' 'min-population=' 'version' 'h/help'
        case 'keys'
            __photoseal_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'generate'
                __photoseal_parse_subcommand 0 'out=' 'version' 'h/help'
            case 'list'
                __photoseal_parse_subcommand 0 'keys=' 'version' 'h/help'
            case 'add'
                __photoseal_parse_subcommand 0 'keys=' 'index-key' 'version' 'h/help'
            case 'retire'
                __photoseal_parse_subcommand 1 'workdir=' 'keys=' 'verbose' 'store=' 'version' 'h/help'
            end
        case 'token'
            __photoseal_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'encrypt'
                __photoseal_parse_subcommand 0 'keys=' 'version' 'h/help'
            case 'decrypt'
                __photoseal_parse_subcommand 0 'keys=' 'ttl=' 'version' 'h/help'
            end
        case 'encrypt-load'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'progress=' 'store=' 'batch-size=' 'version' 'h/help'
        case 'rotate-keys'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'progress=' 'store=' 'batch-size=' 'version' 'h/help'
        case 'audit'
            __photoseal_parse_subcommand 0 'workdir=' 'keys=' 'verbose' 'store=' 'json' 'version' 'h/help'
        case 'help'
            __photoseal_parse_subcommand -r 1 'version'
        end
    end
end

function __photoseal_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __photoseal_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __photoseal_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __photoseal_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__photoseal_tokens -p)
    if test -z "$(__photoseal_tokens -t)"
        set -l index (count (__photoseal_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'photoseal' -f
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'run' -d 'Search (or import), download, extract, score and load in one run, the stages overlapping.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'plan' -d 'Search (or list a URL source) once and write the work as N shards for `run --shard`.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'search' -d 'Find photos on Flickr by terms, box and dates; record them, sealed, in the ledger.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'import' -d 'Add photos from a folder, a .zip, or a CSV/TSV list of image URLs to the ledger.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'download' -d 'Download every photo the ledger has found into the content-addressed image store.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'extract' -d 'Seal each downloaded photo\'s EXIF, take GPS from it when missing, and geocode the place.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'score' -d 'Label stored photos with Google Cloud Vision (LABEL_DETECTION) and score them.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'status' -d 'Show photo counts per stage, search progress and API calls spent.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'export' -d 'Print every document in the ledger as JSON lines, CSV, GeoJSON or Parquet.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'serve' -d 'Serve the gallery, table and map of the workdir\'s store on this machine.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'pack' -d 'Pack the photos, their metadata and licences into a zip, to a file or to S3.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'deliver' -d 'Send the delivery requests that are due: pack, upload, mail the link.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'exif' -d 'Print the EXIF metadata of image files (JPEG, TIFF/raw, PNG, WebP, HEIC).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'geocode' -d 'Find the nearest place (city, region, country) to a coordinate, offline.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'keys' -d 'Generate, list and rotate seal keys.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'token' -d 'Encrypt or decrypt plain Fernet tokens, one per line.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'encrypt-load' -d 'Verify every sealed field of the ready documents and load them into the store.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'rotate-keys' -d 'Re-seal every document (store and ledger) under the newest seal key.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'audit' -d 'Check every stored document; exit 0 only when nothing is wrong.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" flickr-endpoint' -l 'flickr-endpoint' -d 'The Flickr REST endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" vision-endpoint' -l 'vision-endpoint' -d 'The vision labelling endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal run" -eq 1' -F
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run"' -l 'term' -d 'A search term (repeatable, any script).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" terms-file' -l 'terms-file' -d 'A UTF-8 file of terms, one a line, # comments.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" bbox' -l 'bbox' -d 'The box minlon,minlat,maxlon,maxlat (west,south,east,north) in degrees, e.g. -75,40,-73,41.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" antimeridian' -l 'antimeridian' -d 'Let --bbox cross the antimeridian (minlon greater than maxlon, e.g. 170,-20,-170,10).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" min-taken' -l 'min-taken' -d 'Earliest taken date: YYYY-MM-DD, \'YYYY-MM-DD HH:MM:SS\' or unix seconds (negative before 1970).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" max-taken' -l 'max-taken' -d 'Latest taken date (same forms).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" limit' -l 'limit' -d 'Stop once the ledger holds this many photos.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" api-key' -l 'api-key' -d 'Deprecated (visible in ps): the Flickr API key; set FLICKR_API_KEY in the secrets file or the environment.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" rate-per-hour' -l 'rate-per-hour' -d 'The rate budget in calls per hour for the API key.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" search-concurrency' -l 'search-concurrency' -d 'Flickr calls in flight at once (search\'s --concurrency).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" max-file-size' -l 'max-file-size' -d 'Skip files and zip entries larger than this (K, M, G suffixes).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" max-zip-size' -l 'max-zip-size' -d 'Stop a zip once this much has been inflated from it in all (against zip bombs).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" concurrency' -l 'concurrency' -d 'Downloads in flight at once.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" per-host' -l 'per-host' -d 'Connections to one host at once.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" size' -l 'size' -d 'Image sizes to try, in order (Flickr suffixes; default: the workdir\'s job\'s, else o,k,h,l,c).' -rfka 'o,k,h,l,c o k h l c'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" store-images' -l 'store-images' -d 'How images are kept: plain, stripped or sealed (default: the workdir\'s job\'s mode, else stripped).' -rfka 'plain stripped sealed'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" image-store' -l 'image-store' -d 'Where images are kept: s3://BUCKET/PREFIX (shared by workers on several machines) or a folder (default: the workdir\'s job\'s, else the workdir).' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" max-attempts' -l 'max-attempts' -d 'Attempts per image for retriable failures.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" transfer-timeout' -l 'transfer-timeout' -d 'Seconds one image may take to arrive in all (default: 600, longer for a larger size cap).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run"' -l 'label' -d 'A label to score (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" labels-file' -l 'labels-file' -d 'A labels file: `label: synonym, ...` and `term -> label, ...` lines.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" max-images' -l 'max-images' -d 'Send (and pay for) at most this many images in this run.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" max-cost' -l 'max-cost' -d 'Stop labelling before the estimated price at the public rate passes this many US dollars.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" vision-api-key' -l 'vision-api-key' -d 'Deprecated (visible in ps): the Google Cloud API key; set GOOGLE_VISION_API_KEY in the secrets file or the environment.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" score-concurrency' -l 'score-concurrency' -d 'Vision calls in flight at once (score\'s --concurrency).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" batch-size' -l 'batch-size' -d 'Documents per store read or write (default 128; in run, 64).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" retry-failed' -l 'retry-failed' -d 'Also try again the photos that failed for good in earlier runs (HTTP 403/404/410, the placeholder, not an image, Vision refusing the image); transient failures are always tried again.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" shard' -l 'shard' -d 'Run one shard of --plan: I of N, counting from 0 (default: from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" plan' -l 'plan' -d 'The plan folder `photoseal plan` wrote (with --shard or an array index).' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" force' -l 'force' -d 'Run a shard again although its stats file says it is done.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" update-job' -l 'update-job' -d 'Let the search, source, labels, sizes, image mode or store given replace the workdir\'s recorded job.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" dry-run' -l 'dry-run' -d 'Check the store and keys, print the plan (queries, photos expected, images to label, price); spend nothing.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal run" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" flickr-endpoint' -l 'flickr-endpoint' -d 'The Flickr REST endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" shards' -l 'shards' -d 'The number of shards.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" plan' -l 'plan' -d 'The plan folder to write (shared by every worker).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" force' -l 'force' -d 'Write the plan again over an existing one.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal plan" -eq 1' -F
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan"' -l 'term' -d 'A search term (repeatable, any script).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" terms-file' -l 'terms-file' -d 'A UTF-8 file of terms, one a line, # comments.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" bbox' -l 'bbox' -d 'The box minlon,minlat,maxlon,maxlat (west,south,east,north) in degrees, e.g. -75,40,-73,41.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" antimeridian' -l 'antimeridian' -d 'Let --bbox cross the antimeridian (minlon greater than maxlon, e.g. 170,-20,-170,10).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" min-taken' -l 'min-taken' -d 'Earliest taken date: YYYY-MM-DD, \'YYYY-MM-DD HH:MM:SS\' or unix seconds (negative before 1970).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" max-taken' -l 'max-taken' -d 'Latest taken date (same forms).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" limit' -l 'limit' -d 'Stop once the ledger holds this many photos.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" api-key' -l 'api-key' -d 'Deprecated (visible in ps): the Flickr API key; set FLICKR_API_KEY in the secrets file or the environment.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" rate-per-hour' -l 'rate-per-hour' -d 'The rate budget in calls per hour for the API key.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" search-concurrency' -l 'search-concurrency' -d 'Flickr calls in flight at once (search\'s --concurrency).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan"' -l 'label' -d 'A label to score (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" labels-file' -l 'labels-file' -d 'A labels file: `label: synonym, ...` and `term -> label, ...` lines.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" max-images' -l 'max-images' -d 'Send (and pay for) at most this many images in this run.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" max-cost' -l 'max-cost' -d 'Stop labelling before the estimated price at the public rate passes this many US dollars.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" size' -l 'size' -d 'Image sizes to try, in order (Flickr suffixes; default o,k,h,l,c).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" store-images' -l 'store-images' -d 'How images are kept: plain, stripped or sealed (default: the workdir\'s job\'s mode, else stripped).' -rfka 'plain stripped sealed'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" image-store' -l 'image-store' -d 'Where images are kept: s3://BUCKET/PREFIX (shared by workers on several machines) or a folder (default: the workdir\'s job\'s, else the workdir).' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal plan" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" flickr-endpoint' -l 'flickr-endpoint' -d 'The Flickr REST endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search"' -l 'term' -d 'A search term (repeatable, any script).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" terms-file' -l 'terms-file' -d 'A UTF-8 file of terms, one a line, # comments.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" bbox' -l 'bbox' -d 'The box minlon,minlat,maxlon,maxlat (west,south,east,north) in degrees, e.g. -75,40,-73,41.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" antimeridian' -l 'antimeridian' -d 'Let --bbox cross the antimeridian (minlon greater than maxlon, e.g. 170,-20,-170,10).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" min-taken' -l 'min-taken' -d 'Earliest taken date: YYYY-MM-DD, \'YYYY-MM-DD HH:MM:SS\' or unix seconds (negative before 1970).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" max-taken' -l 'max-taken' -d 'Latest taken date (same forms).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" limit' -l 'limit' -d 'Stop once the ledger holds this many photos.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" api-key' -l 'api-key' -d 'Deprecated (visible in ps): the Flickr API key; set FLICKR_API_KEY in the secrets file or the environment.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" rate-per-hour' -l 'rate-per-hour' -d 'The rate budget in calls per hour for the API key.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" concurrency' -l 'concurrency' -d 'Calls in flight at once.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal search" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal import" -eq 1' -F
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" concurrency' -l 'concurrency' -d 'S3 objects fetched at once (s3:// sources).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" store-images' -l 'store-images' -d 'How images are kept: plain, stripped or sealed (default: the workdir\'s job\'s mode, else stripped).' -rfka 'plain stripped sealed'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" image-store' -l 'image-store' -d 'Where images are kept: s3://BUCKET/PREFIX (shared by workers on several machines) or a folder (default: the workdir\'s job\'s, else the workdir).' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" max-file-size' -l 'max-file-size' -d 'Skip files and zip entries larger than this (K, M, G suffixes).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" max-zip-size' -l 'max-zip-size' -d 'Stop a zip once this much has been inflated from it in all (against zip bombs).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal import" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" concurrency' -l 'concurrency' -d 'Downloads in flight at once.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" per-host' -l 'per-host' -d 'Connections to one host at once.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" size' -l 'size' -d 'Image sizes to try, in order (Flickr suffixes; default: the workdir\'s job\'s, else o,k,h,l,c).' -rfka 'o,k,h,l,c o k h l c'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" store-images' -l 'store-images' -d 'How images are kept: plain, stripped or sealed (default: the workdir\'s job\'s mode, else stripped).' -rfka 'plain stripped sealed'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" image-store' -l 'image-store' -d 'Where images are kept: s3://BUCKET/PREFIX (shared by workers on several machines) or a folder (default: the workdir\'s job\'s, else the workdir).' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" max-attempts' -l 'max-attempts' -d 'Attempts per image for retriable failures.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" transfer-timeout' -l 'transfer-timeout' -d 'Seconds one image may take to arrive in all (default: 600, longer for a larger size cap).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" retry-failed' -l 'retry-failed' -d 'Also try again the photos that failed for good in earlier runs (HTTP 403/404/410, the placeholder, not an image, Vision refusing the image); transient failures are always tried again.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" limit' -l 'limit' -d 'Stop after this many photos.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" extract' -l 'extract' -d 'Extract each image (position from EXIF, place) as soon as it is stored, so rows end at `extracted`; --no-extract leaves them at `downloaded` for `photoseal extract`.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" no-extract' -l 'no-extract' -d 'Extract each image (position from EXIF, place) as soon as it is stored, so rows end at `extracted`; --no-extract leaves them at `downloaded` for `photoseal extract`.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal download" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" retry-failed' -l 'retry-failed' -d 'Also try again the photos that failed for good in earlier runs (HTTP 403/404/410, the placeholder, not an image, Vision refusing the image); transient failures are always tried again.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal extract" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" vision-endpoint' -l 'vision-endpoint' -d 'The vision labelling endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score"' -l 'label' -d 'A label to score (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" labels-file' -l 'labels-file' -d 'A labels file: `label: synonym, ...` and `term -> label, ...` lines.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" max-images' -l 'max-images' -d 'Send (and pay for) at most this many images in this run.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" max-cost' -l 'max-cost' -d 'Stop labelling before the estimated price at the public rate passes this many US dollars.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" retry-failed' -l 'retry-failed' -d 'Also try again the photos that failed for good in earlier runs (HTTP 403/404/410, the placeholder, not an image, Vision refusing the image); transient failures are always tried again.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" threshold' -l 'threshold' -d 'The score a match must reach in the final counts (0...1).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" dry-run' -l 'dry-run' -d 'Only print what would be billed; make no call.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" concurrency' -l 'concurrency' -d 'Calls in flight at once.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" api-key' -l 'api-key' -d 'Deprecated (visible in ps): the Google Cloud API key; set GOOGLE_VISION_API_KEY in the secrets file or the environment.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal score" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" json' -l 'json' -d 'Print JSON instead of text.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" failures' -l 'failures' -d 'List every photo with a failure: id, stage, cause, permanent or transient.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" format' -l 'format' -d 'The output format: jsonl, csv, geojson or parquet.' -rfka 'jsonl csv geojson parquet'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" out' -l 'out' -d 'With --format parquet: the file to write (atomically; default stdout when not a terminal).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'parquet\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" decrypt' -l 'decrypt' -d 'Open the sealed fields (prints personal data).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" pseudonymous' -l 'pseudonymous' -d 'Pseudonymous ids, URLs sealed, nothing linking back to the source (docs/privacy.md).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export"' -l 'min-score' -d 'Keep documents whose scores.<label> is at least S (repeatable; all must hold).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export"' -l 'term' -d 'Keep photos found by this search term (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export"' -l 'country' -d 'Keep photos placed in this ISO country code (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export"' -l 'license' -d 'Keep photos with this licence id (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export"' -l 'status' -d 'Keep photos at this status: found, …, loaded, failed (repeatable).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" min-views' -l 'min-views' -d 'Keep photos with at least N views.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" min-width' -l 'min-width' -d 'Keep photos whose image is at least N pixels wide.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" host' -l 'host' -d 'The address to listen on (other than loopback needs SERVE_TOKEN).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" port' -l 'port' -d 'The TCP port to listen on.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" form' -l 'form' -d 'Serve the request form (/request); the zips of its jobs go under this S3 prefix.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" tiles' -l 'tiles' -d 'A raster basemap for the map: a local MBTiles file (png, jpg or webp tiles).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'mbtiles\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" worker' -l 'worker' -d 'Run `deliver --due` inside the server every --worker-interval seconds (requests and jobs).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" worker-interval' -l 'worker-interval' -d 'Seconds between the worker\'s passes.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" flickr-endpoint' -l 'flickr-endpoint' -d 'The Flickr REST endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" vision-endpoint' -l 'vision-endpoint' -d 'The vision labelling endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack"' -l 'min-score' -d 'Keep photos whose scores.<label> is at least S (repeatable; all must hold).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" limit' -l 'limit' -d 'Pack at most N photos (in id order).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" out' -l 'out' -d 'Write the zip to this file.' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" upload' -l 'upload' -d 'Upload the zip to this S3 object.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" part-size' -l 'part-size' -d 'Multipart upload part size in MiB (5 to 5120; memory holds about three parts).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" link-expires' -l 'link-expires' -d 'How long the printed download link works: seconds, or N with s, m, h or d (at most 7d).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" notify' -l 'notify' -d 'Mail the download link to this address (needs --upload).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" at' -l 'at' -d 'Record a delivery for this time (ISO 8601, e.g. 2026-12-24T08:00:00Z, or +N with s, m, h or d) instead of packing now; `photoseal deliver --due` sends it.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" include-all-rights-reserved' -l 'include-all-rights-reserved' -d 'Pack photos that are all rights reserved or have no known licence too.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" attribution' -l 'attribution' -d 'Pack photos whose licence requires attribution, with their author\'s name.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" pseudonymous' -l 'pseudonymous' -d 'Pseudonymous ids and image names, no source id or URL (docs/privacy.md).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal pack" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" flickr-endpoint' -l 'flickr-endpoint' -d 'The Flickr REST endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" vision-endpoint' -l 'vision-endpoint' -d 'The vision labelling endpoint.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" due' -l 'due' -d 'Send every request whose time has come (the only mode).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal deliver" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal exif" -ge 1' -F
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal exif" json' -l 'json' -d 'Print a JSON array with one object per file: {file, tags, gps, error}.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal exif" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal exif" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal geocode" csv' -l 'csv' -d 'Read "lat,lon" lines on stdin and write CSV rows to stdout.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal geocode" json' -l 'json' -d 'Print the place as one JSON object.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal geocode" max-km' -l 'max-km' -d 'Answer no place when the nearest is farther.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal geocode" min-population' -l 'min-population' -d 'Skip places smaller than this, or of unknown population.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal geocode" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal geocode" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal keys" -eq 1' -fa 'generate' -d 'Make a new secrets file with one seal key and an index key.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal keys" -eq 1' -fa 'list' -d 'List the seal keys by key id, newest (primary) first; never prints a key.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal keys" -eq 1' -fa 'add' -d 'Put a new seal key first in SEAL_KEYS of the secrets file, keeping the old ones.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal keys" -eq 1' -fa 'retire' -d 'Remove a seal key from SEAL_KEYS once no document (store or ledger) uses it.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys generate" out' -l 'out' -d 'Write the new secrets file here (mode 0600).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys generate" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys generate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys list" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys list" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys add" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys add" index-key' -l 'index-key' -d 'Replace INDEX_KEY (kept as INDEX_KEY_PREVIOUS until rotate-keys) instead of adding a seal key.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys add" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys retire" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys retire" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys retire" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys retire" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys retire" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal keys retire" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal token" -eq 1' -fa 'encrypt' -d 'Read standard-base64 plaintexts, one a line; print a Fernet token for each.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_positional "photoseal token" -eq 1' -fa 'decrypt' -d 'Read Fernet tokens, one a line; print each plaintext in standard base64.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token encrypt" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token encrypt" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token encrypt" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token decrypt" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token decrypt" ttl' -l 'ttl' -d 'Refuse tokens older than this many seconds or dated more than 60 s in the future.' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token decrypt" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal token decrypt" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" batch-size' -l 'batch-size' -d 'Documents per store read or write (default 128; in run, 64).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal encrypt-load" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" progress' -l 'progress' -d 'Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.' -rfka 'auto plain none'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" batch-size' -l 'batch-size' -d 'Documents per store read or write (default 128; in run, 64).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal rotate-keys" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" workdir' -l 'workdir' -d 'The work directory holding the ledger.' -rfa '(__photoseal_complete_directories)'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" keys' -l 'keys' -d 'The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).' -rF
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" verbose' -l 'verbose' -d 'Log debug detail to stderr.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" store' -l 'store' -d 'The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).' -rfka ''
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" json' -l 'json' -d 'Print one JSON report (schema in docs/load-audit.md).'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" version' -l 'version' -d 'Show the version.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal audit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'photoseal' -n '__photoseal_should_offer_completions_for_flags_or_options "photoseal help" version' -l 'version' -d 'Show the version.'
