{#-
  One row per node of the self-organizing map (of each algorithm whose model gives nodes:
  SegmentModel.gives_node): its grid position, its weight vector (in
  the model space, columns in segment_preprocessing order), its U-matrix value (mean
  distance to its neighbours, scaled to 0..1: high values mark borders between groups),
  the segment it was grouped into, and its hits (customers whose best-matching node it is,
  over every customer). The data behind the U-matrix and hit-map plots.
-#}
{%- set mapped = segmentation_algorithms('gives_node') %}
{%- if is_spark() %}
with parsed as (

    select from_json(
        model_json,
        'struct<prototypes: array<array<double>>, prototype_segments: array<int>,
                extras: struct<grid: struct<rows: int, cols: int>, u_matrix: array<double>>>'
    ) as m,
    algorithm
    from {{ ref('customer_segmentation', 'int_segment_models') }}
    where {{ is_one_of('algorithm', mapped) }}

),

nodes as (

    -- Spark: posexplode numbers the nodes from 0; arrays index from 0
    select
        parsed.algorithm,
        node.pos + 1 as som_node_id,
        parsed.m
    from parsed
    lateral view posexplode(parsed.m.prototype_segments) node as pos, segment

),

{%- else %}
with parsed as (

    select from_json(
        model_json,
        '{"prototypes": "DOUBLE[][]", "prototype_segments": "INTEGER[]",
          "extras": {"grid": {"rows": "INTEGER", "cols": "INTEGER"}, "u_matrix": "DOUBLE[]"}}'
    ) as m,
    algorithm
    from {{ ref('customer_segmentation', 'int_segment_models') }}
    where {{ is_one_of('algorithm', mapped) }}

),

nodes as (

    select
        parsed.algorithm,
        node.som_node_id,
        parsed.m
    from parsed
    cross join unnest(range(1, len(parsed.m.prototype_segments) + 1)) as node(som_node_id)

),

{%- endif %}
hits as (

    {%- for a in mapped %}
    select {{ sql_string(a) }} as algorithm, {{ quote_identifier(a ~ '_node') }} as som_node_id, count(*) as customers
    from {{ ref('customer_segmentation', 'int_customer_scores') }}
    group by {{ quote_identifier(a ~ '_node') }}
    {{ 'union all' if not loop.last }}
    {%- else %}
    select cast(null as string) as algorithm, cast(null as integer) as som_node_id, 0 as customers
    from {{ ref('customer_segmentation', 'int_customer_scores') }}
    where false
    {%- endfor %}

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(nodes.algorithm as string) as algorithm,
    cast(nodes.som_node_id as integer) as som_node_id,
    cast(floor((nodes.som_node_id - 1) / nodes.m.extras.grid.cols) as integer) as grid_row,
    cast((nodes.som_node_id - 1) % nodes.m.extras.grid.cols as integer) as grid_col,
{%- if is_spark() %}
    cast(nodes.m.prototypes[nodes.som_node_id - 1] as array<double>) as weights,
    cast(nodes.m.extras.u_matrix[nodes.som_node_id - 1] as double) as u_matrix_distance,
    cast(nodes.m.prototype_segments[nodes.som_node_id - 1] as integer) as segment_id,
{%- else %}
    cast(nodes.m.prototypes[nodes.som_node_id] as double[]) as weights,
    cast(nodes.m.extras.u_matrix[nodes.som_node_id] as double) as u_matrix_distance,
    cast(nodes.m.prototype_segments[nodes.som_node_id] as integer) as segment_id,
{%- endif %}
    cast(coalesce(hits.customers, 0) as bigint) as customers
from nodes
left join hits
    on nodes.algorithm = hits.algorithm
    and nodes.som_node_id = hits.som_node_id
order by algorithm, som_node_id
