{#-
  Scoring customers with saved models in SQL (int_customer_scores on engines without the
  Python models, e.g. the spark target): the saved preprocessing and model parameters are
  read when the model compiles and written into the query as numbers, so the query runs
  wherever SQL runs. Same rules as custseg's Python scoring:

    model space   cap, transform (log1p, signed_log1p), fill, standardise; categories one-hot
    kmeans, hierarchical   nearest centre (full space)
    som           nearest node; the node's segment (full space)
                  (the nearest prototype is the least of (squared distance, position) pairs,
                  the distance ranked as |c|^2 - 2 x.c: one pass, no chain of comparisons)
    gmm           most probable mixture component, with its probability (reduced PCA space)
    density       nearest core customer within the radius, else noise (segment 0): a join on
                  a grid of radius-sized cells of the first (up to) four reduced coordinates,
                  each core listed in its 3^4 neighbouring cells, so a customer is compared
                  only with the cores near its own cell
-#}

{%- macro _num(value) -%}{{ '%.17e' | format(value | float) }}{%- endmacro -%}

{#- SQL for the model-space coordinates of one saved preprocessing (rows of segment_preprocessing). -#}
{%- macro _model_space(columns, alias) -%}
  {%- set out = [] -%}
  {%- for c in columns -%}
    {%- set source = alias ~ '.' ~ quote_identifier(c.source_column) -%}
    {%- if c.transform == 'one_hot' -%}
      {%- set value = "coalesce(cast(" ~ source ~ " as string), 'unknown')" -%}
      {%- if c.category == '__other__' -%}
        {%- set known = columns | selectattr('source_column', 'equalto', c.source_column) | rejectattr('category', 'equalto', '__other__') | map(attribute='category') | list -%}
        {%- set quoted = [] -%}{%- for k in known %}{% do quoted.append(sql_string(k)) %}{% endfor -%}
        {%- set hit = "case when " ~ value ~ (" in (" ~ (quoted | join(', ')) ~ ")" if quoted else " is null") ~ " then 0.0 else 1.0 end" -%}
      {%- else -%}
        {%- set hit = "case when " ~ value ~ " = " ~ sql_string(c.category) ~ " then 1.0 else 0.0 end" -%}
      {%- endif -%}
      {%- do out.append("(" ~ hit ~ " - " ~ _num(c.center) ~ ") / " ~ _num(c.scale)) -%}
    {%- else -%}
      {%- set v = "cast(" ~ source ~ " as double)" -%}
      {%- if c.cap_value is not none -%}{%- set v = "case when " ~ v ~ " > " ~ _num(c.cap_value) ~ " then " ~ _num(c.cap_value) ~ " else " ~ v ~ " end" -%}{%- endif -%}
      {%- if c.transform == 'log1p' -%}{%- set v = "ln(1.0 + greatest(" ~ v ~ ", 0.0))" -%}
      {%- elif c.transform == 'signed_log1p' -%}{%- set v = "sign(" ~ v ~ ") * ln(1.0 + abs(" ~ v ~ "))" -%}{%- endif -%}
      {%- do out.append("(coalesce(" ~ v ~ ", " ~ _num(c.fill_value) ~ ") - " ~ _num(c.center) ~ ") / " ~ _num(c.scale)) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(out) }}
{%- endmacro -%}

{#- Linear combinations sum_j weights[j] * x_j (x named prefix1..prefixd). -#}
{%- macro _dot(weights, prefix, offset=0) -%}
  {%- set terms = [] -%}
  {%- for w in weights -%}{%- do terms.append(_num(w) ~ " * " ~ prefix ~ loop.index) -%}{%- endfor -%}
  {{ return('(' ~ (terms | join(' + ') or '0.0') ~ (' + ' ~ _num(offset) if offset else '') ~ ')') }}
{%- endmacro -%}

{#- |x - c|^2 - |x|^2 = |c|^2 - 2 x.c: what ranks prototypes, with half the arithmetic -#}
{%- macro _squared_distance_to(point, prefix) -%}
  {%- set ns = namespace(c2=0.0) -%}
  {%- set terms = [] -%}
  {%- for p in point -%}
    {%- set ns.c2 = ns.c2 + (p | float) * (p | float) -%}
    {%- do terms.append(_num(p) ~ " * " ~ prefix ~ loop.index) -%}
  {%- endfor -%}
  {{ return('(' ~ _num(ns.c2) ~ ' - 2.0 * (' ~ (terms | join(' + ')) ~ '))') }}
{%- endmacro -%}

{%- macro _squared_distance(point, prefix) -%}
  {%- set terms = [] -%}
  {%- for p in point -%}{%- do terms.append("(" ~ prefix ~ loop.index ~ " - " ~ _num(p) ~ ") * (" ~ prefix ~ loop.index ~ " - " ~ _num(p) ~ ")") -%}{%- endfor -%}
  {{ return('(' ~ (terms | join(' + ')) ~ ')') }}
{%- endmacro -%}

{#- One model's parameter rows grouped: {prototype: {'segment_id', 'values': [..by column..]}} -#}
{%- macro _prototypes(rows, parameter) -%}
  {%- set by = {} -%}
  {%- for r in rows if r.parameter == parameter -%}
    {%- if r.prototype not in by %}{% do by.update({r.prototype: {'segment_id': r.segment_id, 'values': {}}}) %}{% endif -%}
    {%- do by[r.prototype]['values'].update({r.column_index: r.value}) -%}
  {%- endfor -%}
  {%- set out = [] -%}
  {%- for p in by | sort -%}
    {%- set values = [] -%}{%- for j in by[p]['values'] | sort %}{% do values.append(by[p]['values'][j]) %}{% endfor -%}
    {%- do out.append({'prototype': p, 'segment_id': by[p]['segment_id'], 'values': values}) -%}
  {%- endfor -%}
  {{ return(out) }}
{%- endmacro -%}

{%- macro _rows(sql) -%}
  {%- set table = run_query(sql) -%}
  {%- set out = [] -%}
  {%- for row in table.rows -%}
    {%- set d = {} -%}{%- for name in table.column_names %}{% do d.update({name: row[loop.index0]}) %}{% endfor -%}
    {%- do out.append(d) -%}
  {%- endfor -%}
  {{ return(out) }}
{%- endmacro -%}

{% macro sql_customer_scores(features, models, preprocessing, components, parameters) %}
  {%- if not execute %}{{ return('select 1 as customer_id') }}{% endif -%}
  {%- set algorithms = segmentation_algorithms() -%}
  {%- set model_rows = _rows("select algorithm, model_version, preprocessing_version from " ~ models) -%}
  {%- set versions = {} -%}{%- set model_versions = {} -%}
  {%- for r in model_rows if r.algorithm in algorithms %}{% do versions.update({r.algorithm: r.preprocessing_version | int}) %}{% do model_versions.update({r.algorithm: r.model_version | int}) %}{% endfor -%}
  {%- set pre_versions = versions.values() | unique | list -%}
  {%- set pre_rows = _rows("select model_version, column_position, source_column, transform, cap_value, category, fill_value, center, scale, pca_mean, reduced_components from "
      ~ preprocessing ~ " where model_version in (" ~ (pre_versions | join(', ')) ~ ") order by model_version, column_position") -%}
  {%- set comp_rows = _rows("select model_version, component, column_position, loading from " ~ components
      ~ " where model_version in (" ~ (pre_versions | join(', ')) ~ ") order by model_version, component, column_position") -%}
  {%- set view_version = versions[segmentation_settings().primary_algorithm] -%}
  {%- set sources = [] -%}
  {%- for r in pre_rows if r.source_column not in sources %}{% do sources.append(r.source_column) %}{% endfor %}

with features as (

    select customer_id, {% for s in sources %}{{ quote_identifier(s) }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ features }}

)
{%- for v in pre_versions %}
  {%- set columns = pre_rows | selectattr('model_version', 'equalto', v) | list %}
  {%- set coords = _model_space(columns, 'features') %}
  {%- set reduced = (columns[0].reduced_components | int) %}
  {%- set n_components = [reduced, 3] | max %},

space_{{ v }} as (

    select
        customer_id,
        {%- for e in coords %}
        {{ e }} as x{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from features

),

reduced_{{ v }} as (

    select
        space_{{ v }}.*,
        {%- for i in range(1, n_components + 1) %}
        {%- set loadings = comp_rows | selectattr('model_version', 'equalto', v) | selectattr('component', 'equalto', i) | list %}
        {%- set terms = [] %}
        {%- for c in columns %}
          {%- set l = (loadings | selectattr('column_position', 'equalto', c.column_position) | first) %}
          {%- do terms.append(_num(l.loading if l else 0) ~ " * (x" ~ loop.index ~ " - " ~ _num(c.pca_mean) ~ ")") %}
        {%- endfor %}
        ({{ terms | join(' + ') }}) as z{{ i }}{{ ',' if not loop.last }}
        {%- endfor %}
    from space_{{ v }}

)
{%- endfor %}

{%- set param_rows = _rows("select algorithm, model_version, parameter, segment_id, prototype, row_index, column_index, value from "
    ~ parameters ~ " order by algorithm, prototype, row_index, column_index") %}
{%- for a in algorithms %}
  {%- set rows = param_rows | selectattr('algorithm', 'equalto', a) | selectattr('model_version', 'equalto', model_versions[a]) | list %}
  {%- set v = versions[a] %}
  {%- if a in ('kmeans', 'hierarchical', 'som') %}
  {%- set protos = _prototypes(rows, 'node_weight' if a == 'som' else 'centre') %},

{{ a }}_scores as (

    select
        customer_id,
        element_at(array({% for p in protos %}{{ p.segment_id }}{{ ', ' if not loop.last }}{% endfor %}), nearest.position) as {{ a }}_segment_id,
        sqrt(greatest(norm + nearest.d, 0.0)) as {{ a }}_distance,
        cast(null as double) as {{ a }}_probability,
        {%- if a == 'som' %}
        element_at(array({% for p in protos %}{{ p.prototype }}{{ ', ' if not loop.last }}{% endfor %}), nearest.position) as {{ a }}_node
        {%- else %}
        cast(null as integer) as {{ a }}_node
        {%- endif %}
    from (
        select
            customer_id,
            ({% for j in range(1, protos[0]['values'] | length + 1) %}x{{ j }} * x{{ j }}{{ ' + ' if not loop.last }}{% endfor %}) as norm,
            least(
                {%- for p in protos %}
                named_struct('d', {{ _squared_distance_to(p['values'], 'x') }}, 'position', {{ loop.index }}){{ ',' if not loop.last }}
                {%- endfor %}
            ) as nearest
        from space_{{ v }}
    ) as distances

)
  {%- elif a == 'gmm' %}
  {%- set means = _prototypes(rows, 'mean') %}
  {%- set chol = rows | selectattr('parameter', 'equalto', 'precision_cholesky') | list %}
  {%- set weights = rows | selectattr('parameter', 'equalto', 'log_weight') | list %}
  {%- set d = means[0]['values'] | length %},

{{ a }}_scores as (

    select
        customer_id,
        case
            {%- for m in means %}
            when w{{ loop.index }} = best then {{ m.segment_id }}
            {%- endfor %}
        end as {{ a }}_segment_id,
        sqrt(case
            {%- for m in means %}
            when w{{ loop.index }} = best then {{ _squared_distance(m['values'], 'z') }}
            {%- endfor %}
        end) as {{ a }}_distance,
        1.0 / ({% for m in means %}exp(w{{ loop.index }} - best){{ ' + ' if not loop.last }}{% endfor %}) as {{ a }}_probability,
        cast(null as integer) as {{ a }}_node
    from (
        select *, greatest({% for m in means %}w{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}) as best
        from (
            select
                customer_id,
                {%- for j in range(1, d + 1) %}
                z{{ j }},
                {%- endfor %}
                {%- for m in means %}
                {%- set c = m.prototype %}
                {%- set entries = chol | selectattr('prototype', 'equalto', c) | list %}
                {%- set log_det = [] %}
                {%- for e in entries if e.row_index == e.column_index %}{% do log_det.append("ln(" ~ _num(e.value) ~ ")") %}{% endfor %}
                {%- set ys = [] %}
                {%- for j in range(1, d + 1) %}
                  {%- set terms = [] %}
                  {%- for e in entries if e.column_index == j %}
                    {%- do terms.append(_num(e.value) ~ " * (z" ~ e.row_index ~ " - " ~ _num(m['values'][e.row_index - 1]) ~ ")") %}
                  {%- endfor %}
                  {%- do ys.append("(" ~ (terms | join(' + ') or '0.0') ~ ")") %}
                {%- endfor %}
                ({{ _num((weights | selectattr('prototype', 'equalto', c) | first).value) }} + {{ log_det | join(' + ') }}
                 - 0.5 * ({{ _num(d * 1.8378770664093453) }}{% for y in ys %} + {{ y }} * {{ y }}{% endfor %})) as w{{ loop.index }}{{ ',' if not loop.last }}
                {%- endfor %}
            from reduced_{{ v }}
        ) as components
    ) as ranked

)
  {%- elif a == 'density' %}
  {%- set radius = (rows | selectattr('parameter', 'equalto', 'radius') | first).value | float %}
  {%- set cores = rows | selectattr('parameter', 'equalto', 'core_point') | list %}
  {%- set dims = cores | map(attribute='column_index') | max %}
  {%- set grid = [dims, 4] | min %},

density_cores as (

    select
        prototype,
        segment_id,
        {%- for j in range(1, dims + 1) %}
        max(case when column_index = {{ j }} then value end) as c{{ j }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ parameters }}
    where algorithm = 'density' and model_version = {{ model_versions[a] }} and parameter = 'core_point'
    group by prototype, segment_id

),

{#- each core customer is listed in its own grid cell and the neighbouring ones (3 per grid
    dimension): a customer then meets, in its own cell only, every core within the radius -#}
density_core_cells as (

    select
        cores.*,
        {%- for j in range(1, grid + 1) %}
        floor(cores.c{{ j }} / {{ _num(radius) }}) + step_{{ j }}.s as g{{ j }}{{ ',' if not loop.last }}
        {%- endfor %}
    from density_cores as cores
    {%- for j in range(1, grid + 1) %}
    cross join (select -1 as s union all select 0 as s union all select 1 as s) as step_{{ j }}
    {%- endfor %}

),

density_near as (

    select
        customer_id,
        min_by(segment_id, d2) as segment_id,
        min(d2) as d2
    from (
        select
            customers.customer_id,
            cores.segment_id,
            ({% for j in range(1, dims + 1) %}(customers.z{{ j }} - cores.c{{ j }}) * (customers.z{{ j }} - cores.c{{ j }}){{ ' + ' if not loop.last }}{% endfor %}) as d2
        from reduced_{{ v }} as customers
        inner join density_core_cells as cores
            on {% for j in range(1, grid + 1) %}floor(customers.z{{ j }} / {{ _num(radius) }}) = cores.g{{ j }}{{ ' and ' if not loop.last }}{% endfor %}
    ) as candidates
    where d2 <= {{ _num(radius * radius) }}
    group by customer_id

),

density_scores as (

    select
        space.customer_id,
        coalesce(near.segment_id, 0) as density_segment_id,
        sqrt(near.d2) as density_distance,
        cast(null as double) as density_probability,
        cast(null as integer) as density_node
    from space_{{ v }} as space
    left join density_near as near
        on space.customer_id = near.customer_id

)
  {%- endif %}
{%- endfor %}

select
    cast(view.customer_id as string) as customer_id,
    cast(view.z1 as double) as pca_1,
    cast(view.z2 as double) as pca_2,
    cast(view.z3 as double) as pca_3
    {%- for a in algorithms %},
    cast({{ a }}_scores.{{ a }}_segment_id as integer) as {{ a }}_segment_id,
    cast({{ a }}_scores.{{ a }}_distance as double) as {{ a }}_distance,
    cast({{ a }}_scores.{{ a }}_probability as double) as {{ a }}_probability,
    cast({{ a }}_scores.{{ a }}_node as integer) as {{ a }}_node
    {%- endfor %}
from reduced_{{ view_version }} as view
{%- for a in algorithms %}
inner join {{ a }}_scores on {{ a }}_scores.customer_id = view.customer_id
{%- endfor %}
{% endmacro %}
