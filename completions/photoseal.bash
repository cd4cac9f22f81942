#!/bin/bash

__photoseal_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__photoseal_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__photoseal_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__photoseal_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_photoseal() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __photoseal_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    run|plan|search|import|download|extract|score|status|export|serve|pack|deliver|exif|geocode|keys|token|encrypt-load|rotate-keys|audit|help)
        # Offer subcommand argument completions
        "_photoseal_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'run plan search import download extract score status export serve pack deliver exif geocode keys token encrypt-load rotate-keys audit help' -- "${cur}"))
        ;;
    esac
}

_photoseal_run() {
    repeating_flags=()
    non_repeating_flags=(--verbose --antimeridian --retry-failed --force --update-job --dry-run --version -h --help)
    repeating_options=(--term --label)
    non_repeating_options=(--workdir --keys --store --flickr-endpoint --vision-endpoint --terms-file --bbox --min-taken --max-taken --limit --api-key --rate-per-hour --search-concurrency --max-file-size --max-zip-size --concurrency --per-host --size --store-images --image-store --max-attempts --transfer-timeout --labels-file --max-images --max-cost --vision-api-key --score-concurrency --batch-size --progress --shard --plan)
    __photoseal_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--store')
        return
        ;;
    '--flickr-endpoint')
        return
        ;;
    '--vision-endpoint')
        return
        ;;
    '--term')
        return
        ;;
    '--terms-file')
        __photoseal_add_completions -f
        return
        ;;
    '--bbox')
        return
        ;;
    '--min-taken')
        return
        ;;
    '--max-taken')
        return
        ;;
    '--limit')
        return
        ;;
    '--api-key')
        return
        ;;
    '--rate-per-hour')
        return
        ;;
    '--search-concurrency')
        return
        ;;
    '--max-file-size')
        return
        ;;
    '--max-zip-size')
        return
        ;;
    '--concurrency')
        return
        ;;
    '--per-host')
        return
        ;;
    '--size')
        __photoseal_add_completions -W 'o,k,h,l,c'$'\n''o'$'\n''k'$'\n''h'$'\n''l'$'\n''c'
        return
        ;;
    '--store-images')
        __photoseal_add_completions -W 'plain'$'\n''stripped'$'\n''sealed'
        return
        ;;
    '--image-store')
        __photoseal_add_completions -d
        return
        ;;
    '--max-attempts')
        return
        ;;
    '--transfer-timeout')
        return
        ;;
    '--label')
        return
        ;;
    '--labels-file')
        __photoseal_add_completions -f
        return
        ;;
    '--max-images')
        return
        ;;
    '--max-cost')
        return
        ;;
    '--vision-api-key')
        return
        ;;
    '--score-concurrency')
        return
        ;;
    '--batch-size')
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--shard')
        return
        ;;
    '--plan')
        __photoseal_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_plan() {
    repeating_flags=()
    non_repeating_flags=(--verbose --force --antimeridian --version -h --help)
    repeating_options=(--term --label)
    non_repeating_options=(--workdir --keys --store --flickr-endpoint --shards --plan --terms-file --bbox --min-taken --max-taken --limit --api-key --rate-per-hour --search-concurrency --labels-file --max-images --max-cost --size --store-images --image-store --progress)
    __photoseal_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--store')
        return
        ;;
    '--flickr-endpoint')
        return
        ;;
    '--shards')
        return
        ;;
    '--plan')
        return
        ;;
    '--term')
        return
        ;;
    '--terms-file')
        __photoseal_add_completions -f
        return
        ;;
    '--bbox')
        return
        ;;
    '--min-taken')
        return
        ;;
    '--max-taken')
        return
        ;;
    '--limit')
        return
        ;;
    '--api-key')
        return
        ;;
    '--rate-per-hour')
        return
        ;;
    '--search-concurrency')
        return
        ;;
    '--label')
        return
        ;;
    '--labels-file')
        __photoseal_add_completions -f
        return
        ;;
    '--max-images')
        return
        ;;
    '--max-cost')
        return
        ;;
    '--size')
        return
        ;;
    '--store-images')
        __photoseal_add_completions -W 'plain'$'\n''stripped'$'\n''sealed'
        return
        ;;
    '--image-store')
        __photoseal_add_completions -d
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_search() {
    repeating_flags=()
    non_repeating_flags=(--verbose --antimeridian --version -h --help)
    repeating_options=(--term)
    non_repeating_options=(--workdir --keys --progress --flickr-endpoint --terms-file --bbox --min-taken --max-taken --limit --api-key --rate-per-hour --concurrency)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--flickr-endpoint')
        return
        ;;
    '--term')
        return
        ;;
    '--terms-file')
        __photoseal_add_completions -f
        return
        ;;
    '--bbox')
        return
        ;;
    '--min-taken')
        return
        ;;
    '--max-taken')
        return
        ;;
    '--limit')
        return
        ;;
    '--api-key')
        return
        ;;
    '--rate-per-hour')
        return
        ;;
    '--concurrency')
        return
        ;;
    esac
}

_photoseal_import() {
    repeating_flags=()
    non_repeating_flags=(--verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --progress --concurrency --store-images --image-store --max-file-size --max-zip-size)
    __photoseal_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--concurrency')
        return
        ;;
    '--store-images')
        __photoseal_add_completions -W 'plain'$'\n''stripped'$'\n''sealed'
        return
        ;;
    '--image-store')
        __photoseal_add_completions -d
        return
        ;;
    '--max-file-size')
        return
        ;;
    '--max-zip-size')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_download() {
    repeating_flags=()
    non_repeating_flags=(--verbose --retry-failed --extract --no-extract --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --progress --concurrency --per-host --size --store-images --image-store --max-attempts --transfer-timeout --limit)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--concurrency')
        return
        ;;
    '--per-host')
        return
        ;;
    '--size')
        __photoseal_add_completions -W 'o,k,h,l,c'$'\n''o'$'\n''k'$'\n''h'$'\n''l'$'\n''c'
        return
        ;;
    '--store-images')
        __photoseal_add_completions -W 'plain'$'\n''stripped'$'\n''sealed'
        return
        ;;
    '--image-store')
        __photoseal_add_completions -d
        return
        ;;
    '--max-attempts')
        return
        ;;
    '--transfer-timeout')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_photoseal_extract() {
    repeating_flags=()
    non_repeating_flags=(--verbose --retry-failed --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --progress)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    esac
}

_photoseal_score() {
    repeating_flags=()
    non_repeating_flags=(--verbose --retry-failed --dry-run --version -h --help)
    repeating_options=(--label)
    non_repeating_options=(--workdir --keys --vision-endpoint --labels-file --max-images --max-cost --progress --threshold --concurrency --api-key)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--vision-endpoint')
        return
        ;;
    '--label')
        return
        ;;
    '--labels-file')
        __photoseal_add_completions -f
        return
        ;;
    '--max-images')
        return
        ;;
    '--max-cost')
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--threshold')
        return
        ;;
    '--concurrency')
        return
        ;;
    '--api-key')
        return
        ;;
    esac
}

_photoseal_status() {
    repeating_flags=()
    non_repeating_flags=(--verbose --json --failures --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_export() {
    repeating_flags=()
    non_repeating_flags=(--verbose --decrypt --pseudonymous --version -h --help)
    repeating_options=(--min-score --term --country --license --status)
    non_repeating_options=(--workdir --keys --format --out --min-views --min-width)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--format')
        __photoseal_add_completions -W 'jsonl'$'\n''csv'$'\n''geojson'$'\n''parquet'
        return
        ;;
    '--out')
        __photoseal_add_completions -o plusdirs -fX '!*.@(parquet)'
        return
        ;;
    '--min-score')
        return
        ;;
    '--term')
        return
        ;;
    '--country')
        return
        ;;
    '--license')
        return
        ;;
    '--status')
        return
        ;;
    '--min-views')
        return
        ;;
    '--min-width')
        return
        ;;
    esac
}

_photoseal_serve() {
    repeating_flags=()
    non_repeating_flags=(--verbose --worker --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --store --host --port --form --tiles --worker-interval --flickr-endpoint --vision-endpoint)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--store')
        return
        ;;
    '--host')
        return
        ;;
    '--port')
        return
        ;;
    '--form')
        return
        ;;
    '--tiles')
        __photoseal_add_completions -o plusdirs -fX '!*.@(mbtiles)'
        return
        ;;
    '--worker-interval')
        return
        ;;
    '--flickr-endpoint')
        return
        ;;
    '--vision-endpoint')
        return
        ;;
    esac
}

_photoseal_pack() {
    repeating_flags=()
    non_repeating_flags=(--verbose --include-all-rights-reserved --attribution --pseudonymous --version -h --help)
    repeating_options=(--min-score)
    non_repeating_options=(--workdir --keys --limit --out --upload --part-size --link-expires --notify --at)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--min-score')
        return
        ;;
    '--limit')
        return
        ;;
    '--out')
        __photoseal_add_completions -f
        return
        ;;
    '--upload')
        return
        ;;
    '--part-size')
        return
        ;;
    '--link-expires')
        return
        ;;
    '--notify')
        return
        ;;
    '--at')
        return
        ;;
    esac
}

_photoseal_deliver() {
    repeating_flags=()
    non_repeating_flags=(--verbose --due --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --store --flickr-endpoint --vision-endpoint)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--store')
        return
        ;;
    '--flickr-endpoint')
        return
        ;;
    '--vision-endpoint')
        return
        ;;
    esac
}

_photoseal_exif() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __photoseal_offer_flags_options -1

    # Offer positional completions
    case "${positional_number}" in
    *)
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_geocode() {
    repeating_flags=()
    non_repeating_flags=(--csv --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--max-km --min-population)
    __photoseal_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--max-km')
        return
        ;;
    '--min-population')
        return
        ;;
    esac
}

_photoseal_keys() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __photoseal_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    generate|list|add|retire)
        # Offer subcommand argument completions
        "_photoseal_keys_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'generate list add retire' -- "${cur}"))
        ;;
    esac
}

_photoseal_keys_generate() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--out)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--out')
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_keys_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--keys)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_keys_add() {
    repeating_flags=()
    non_repeating_flags=(--index-key --version -h --help)
    repeating_options=()
    non_repeating_options=(--keys)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_keys_retire() {
    repeating_flags=()
    non_repeating_flags=(--verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --store)
    __photoseal_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--store')
        return
        ;;
    esac
}

_photoseal_token() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __photoseal_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    encrypt|decrypt)
        # Offer subcommand argument completions
        "_photoseal_token_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'encrypt decrypt' -- "${cur}"))
        ;;
    esac
}

_photoseal_token_encrypt() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--keys)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    esac
}

_photoseal_token_decrypt() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--keys --ttl)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--ttl')
        return
        ;;
    esac
}

_photoseal_encrypt-load() {
    repeating_flags=()
    non_repeating_flags=(--verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --progress --store --batch-size)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--store')
        return
        ;;
    '--batch-size')
        return
        ;;
    esac
}

_photoseal_rotate-keys() {
    repeating_flags=()
    non_repeating_flags=(--verbose --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --progress --store --batch-size)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--progress')
        __photoseal_add_completions -W 'auto'$'\n''plain'$'\n''none'
        return
        ;;
    '--store')
        return
        ;;
    '--batch-size')
        return
        ;;
    esac
}

_photoseal_audit() {
    repeating_flags=()
    non_repeating_flags=(--verbose --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--workdir --keys --store)
    __photoseal_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--workdir')
        __photoseal_add_completions -d
        return
        ;;
    '--keys')
        __photoseal_add_completions -f
        return
        ;;
    '--store')
        return
        ;;
    esac
}

_photoseal_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __photoseal_offer_flags_options -1
}

complete -o filenames -F _photoseal photoseal
