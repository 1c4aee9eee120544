{#-
  The run's context: the one place macros learn what this invocation does.

    run_context().settings    the validated vars (custseg.settings)
    run_context().input       the input and its contract: what stg_customers reads and what
                              each column is (custseg.inputs); .transactions for a log
    run_context().models      refit or score, the model version, the usable versions
    run_context().algorithms  the registered algorithms (custseg.algorithms)

  custseg.run_context computes it once per invocation (the on-run-start hook asks first, with
  the working database's state) and answers every later call from its cache, through the
  SQL functions the dbt-duckdb plugin registers (custseg.dbt_plugin). On the spark target
  scripts/spark_build.py computes it and hands it over in CUSTSEG_RUN_CONTEXT_JSON. While
  dbt parses nothing runs: the defaults stand in (macros/setting_defaults.sql), with the
  few vars that shape the project (segment_mode, the relation vars) read as given.

  An input that is a relation of the build's database ({model}, {source}, {table}) may be
  built by this invocation after on-run-start, so the hook leaves the input and the models
  pending; the first node that asks for the context completes it (_resolve_input): every
  model that asks at execution time is downstream of the relation, since the models that
  would otherwise be first (stg_customers, stg_transactions, customer_changes, the config
  models) call input_relation_refs(), which refs it while dbt parses.
-#}

{% macro run_context() %}
  {% set answer = run_context_answer() %}
  {% if answer.get('error') %}{{ exceptions.raise_compiler_error(answer.error) }}{% endif %}
  {{ return(answer.context) }}
{% endmacro %}

{#- {'context': ...} or {'error': one line} -#}
{% macro run_context_answer() %}
  {% if not execute %}{{ return({'context': _parse_time_context()}) }}{% endif %}
  {% if is_spark() %}
    {% set text = env_var('CUSTSEG_RUN_CONTEXT_JSON', '') %}
    {% if not text %}
      {{ exceptions.raise_compiler_error("the spark target reads the run context from CUSTSEG_RUN_CONTEXT_JSON: run it "
          ~ "with `make spark-build` (scripts/spark_build.py).") }}
    {% endif %}
    {{ return(fromjson(text)) }}
  {% endif %}
  {% set unit_test = _in_unit_test() %}
  {#- hooks and run-operation never complete a pending input: a node downstream of it does -#}
  {% set in_node = model is defined and model is mapping and model.get('resource_type') not in ('operation', 'macro') %}
  {#- a unit test's vars are its own: its context is asked for whole, and cached by them -#}
  {% set text = '' if unit_test else run_query("select custseg_run_context(" ~ sql_string(invocation_id)
      ~ ", false)").columns[0].values()[0] %}
  {% if not text %}
    {% set text = run_query("select custseg_start_run(" ~ sql_string(tojson(run_request(unit_test))) ~ ")"
        ).columns[0].values()[0] %}
  {% endif %}
  {% set answer = fromjson(text) %}
  {% if in_node and not unit_test and answer.get('context') and answer.context.input.get('pending') %}
    {{ return(_resolve_input(answer.context.settings)) }}
  {% endif %}
  {{ return(answer) }}
{% endmacro %}

{#- Complete the pending context (custseg_resolve_input): the relation as dbt's graph names it,
    read through the build's connection. The node that completes it does what on-run-start
    does for other inputs: records the refusal or the run's mode and model version. -#}
{% macro _resolve_input(settings) %}
  {% set relations = {} %}
  {% for role in ['customers', 'transactions'] %}
    {% set value = settings.get(role ~ '_relation') %}
    {% if value is mapping and (value.keys() | list)[0] in ('model', 'source', 'table') %}
      {% do relations.update({role: _input_relation(value)}) %}
    {% endif %}
  {% endfor %}
  {% set answer = fromjson(run_query("select custseg_resolve_input(" ~ sql_string(invocation_id) ~ ", "
      ~ sql_string(tojson(relations)) ~ ")").columns[0].values()[0]) %}
  {% if answer.get('resolved_now') and _publishes() %}
    {% if answer.get('error') %}
      {% do _record_run('refused', answer.error) %}
    {% else %}
      {% do record_model_plan(answer.context.models) %}
    {% endif %}
  {% endif %}
  {{ return(answer) }}
{% endmacro %}

{#- What dbt's graph says of a relation var: the quoted relation name of the model (or seed,
    snapshot; the root project's first, as ref() finds it) or source; a table is named by the
    var itself (custseg.inputs.formats.inspect_database_relation quotes it). -#}
{% macro _input_relation(value) %}
  {% set kind = (value.keys() | list)[0] %}
  {% if kind == 'model' %}
    {% set nodes = graph.nodes.values() | selectattr('resource_type', 'in', ['model', 'seed', 'snapshot']) | list %}
    {% set found = nodes | selectattr('name', 'equalto', value.model) | list %}
    {% set node = ((found | selectattr('package_name', 'equalto', project_name) | list) or found or [none])[0] %}
    {{ return({'kind': kind, 'value': value.model, 'relation': node.relation_name if node else none,
               'ephemeral': node is not none and node.config.materialized == 'ephemeral',
               'names': [] if node else (nodes | map(attribute='name') | list)}) }}
  {% elif kind == 'source' %}
    {% set found = graph.sources.values() | selectattr('source_name', 'equalto', value.source[0])
        | selectattr('name', 'equalto', value.source[1]) | list %}
    {{ return({'kind': kind, 'value': value.source | join('.'), 'relation': found[0].relation_name if found else none}) }}
  {% endif %}
  {{ return({'kind': kind, 'value': value.table, 'relation': none}) }}
{% endmacro %}

{#- While dbt parses: ref() (or source()) of the input relation vars that name a dbt node, so
    that the model calling it, and all downstream of it, run after the relation is built
    (`dbt build --select +customer_segments` builds it first). One-arg ref(): from a package,
    dbt looks in the root project first, which is what a project using this one means. With
    a relation of the build's database, input_columns reads the input first and the other
    callers come after it: a bad input fails that one model, in one line, and skips the rest.
    A malformed var refs nothing here: the run refuses it when it starts. -#}
{% macro input_relation_refs() %}
  {% if execute or _in_unit_test() %}{{ return('') }}{% endif %}
  {% set settings = run_context().settings %}
  {% for role in ['customers', 'transactions'] if settings.get(role ~ '_path') is none %}
    {% set value = settings.get(role ~ '_relation') %}
    {% if value is mapping and value | length == 1 and (value.keys() | list)[0] in ('model', 'source', 'table') %}
      {% set name = value.get('model') %}
      {% set names = value.get('source') %}
      {% if name is string and modules.re.fullmatch('[A-Za-z0-9_][A-Za-z0-9_\\-]{0,199}', name) %}
        {% do ref(name) %}
      {% elif names is sequence and names is not string and names is not mapping and names | length == 2
          and names[0] is string and names[1] is string %}
        {% do source(names[0], names[1]) %}
      {% endif %}
      {% if model.name != 'input_columns' %}{% do ref('customer_segmentation', 'input_columns') %}{% endif %}
    {% endif %}
  {% endfor %}
  {{ return('') }}
{% endmacro %}

{#- What custseg.run_context.start needs from dbt: the invocation, the target, the vars as
    given and the working database's saved models. -#}
{% macro run_request(unit_test=false) %}
  {% set vars = {} %}
  {% for name in setting_defaults() %}{% do vars.update({name: raw_var(name)}) %}{% endfor %}
  {% set cli = invocation_args_dict.get('vars') %}
  {% if cli is string %}{% set cli = fromyaml(cli) %}{% endif %}
  {#- installed as a package, the consumer's own command-line vars are not this project's -#}
  {% if cli is mapping and not unit_test %}
    {% for name, value in cli.items() if name in vars or not custseg_installed() %}{% do vars.update({name: value}) %}{% endfor %}
  {% endif %}
  {{ return({
      'invocation_id': invocation_id,
      'run_id': current_run_id(),
      'run_started_at': run_started_at.strftime('%Y-%m-%d %H:%M:%S'),
      'command': flags.WHICH,
      'target': {'type': target.type, 'path': target.path if target.type == 'duckdb' else none},
      'vars': vars,
      'project_dir': invocation_args_dict.get('project_dir', '.'),
      'package_dir': _package_dir(),
      'target_dir': _target_dir(),
      'unit_test': unit_test,
      'state': model_state() if target.type == 'duckdb' and not unit_test else none,
  }) }}
{% endmacro %}

{% macro _in_unit_test() %}
  {{ return(model is defined and model is mapping and model.get('resource_type') == 'unit_test') }}
{% endmacro %}

{#- While dbt parses: the defaults, segment_mode as given (it decides which models exist) and the
    input vars as given (input_relation_refs). -#}
{% macro _parse_time_context() %}
  {% set settings = setting_defaults() %}
  {% set mode = raw_var('segment_mode') %}
  {% if mode in ['refit', 'score', 'auto', 'score_changes'] %}{% do settings.update({'segment_mode': mode}) %}{% endif %}
  {#- as given (data, maybe malformed): input_relation_refs() refs what they name -#}
  {% for name in ['customers_path', 'transactions_path', 'customers_relation', 'transactions_relation'] %}
    {% do settings.update({name: raw_var(name)}) %}
  {% endfor %}
  {{ return({
      'run_id': current_run_id(),
      'settings': settings,
      'input': {'contract': {'columns': [], 'derived': [], 'warnings': [], 'source': {}}, 'relation': none,
                'label': 'the input', 'is_csv': false, 'transactions': none,
                'source': {'whitespace': false, 'kind': 'table', 'columns': []}},
      'models': {'mode': 'refit', 'model_version': 1, 'usable': [1]},
      'algorithms': [],
  }) }}
{% endmacro %}

{#- A var as given: on the command line when it was, else the project's value (a unit test's
    own overrides in a unit test). Read as data: dbt renders a string var as Jinja when var()
    reads a command-line value, so a value such as "{{ run_query(...) }}" would run. -#}
{% macro raw_var(name) %}
  {% if _in_unit_test() %}{{ return(var(name, none)) }}{% endif %}
  {% set cli = invocation_args_dict.get('vars') %}
  {% if cli is string %}{% set cli = fromyaml(cli) %}{% endif %}
  {% if cli is mapping and name in cli %}{{ return(cli[name]) }}{% endif %}
  {{ return(var(name, none)) }}
{% endmacro %}

{#- This project's folder (the embedded samples are in it): the dbt project's, or installed as a
    package, where dbt deps put it; none in a unit test, which has no graph (custseg.run_context
    then uses its invocation's). -#}
{% macro _package_dir() %}
  {% set seed = (graph.get('nodes') or {}).get('seed.customer_segmentation.feature_catalogue') %}
  {{ return(seed.root_path if seed and seed.root_path else none) }}
{% endmacro %}

{#- The folder dbt writes its artifacts to (DBT_TARGET_PATH, else target/). -#}
{% macro _target_dir() %}
  {% set path = env_var('DBT_TARGET_PATH', 'target') %}
  {{ return(path if path.startswith('/') else invocation_args_dict.get('project_dir', '.') ~ '/' ~ path) }}
{% endmacro %}

{#-
  The id of this run: when it started (UTC) and the start of dbt's invocation id, so ids
  sort in time order, e.g. 20261127T120501Z-1a2b3c4d. Every mart built by one invocation
  carries it; a run is published when every BI mart and test of the invocation passed.
-#}
{% macro current_run_id() %}
  {{ return(run_started_at.strftime('%Y%m%dT%H%M%SZ') ~ '-' ~ invocation_id[:8]) }}
{% endmacro %}
