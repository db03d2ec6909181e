-- Queries sqlsmith found crashing a backend (seed 7, 20,000 queries, on the code before the
-- executor-contract fixes of #16); test/e2e/sqlsmith.sh replays them on every run.
-- backend 30052
select  
  (select months_observed from dw.customer_risk_features limit 1 offset 6)
     as c0, 
  sample_0.transaction_date_key as c1
from 
  dw.fact_bank_transaction as sample_0 tablesample system (0.6) ,
  lateral (select  
        ref_0.transaction_amount as c0, 
        sample_0.transaction_date as c1
      from 
        dw.dim_date as sample_1 tablesample system (9) 
          inner join public.statements_text as ref_0
          on ((cast(null as record) *> cast(null as record)) 
              or (sample_1.month >= ref_0.line))
      where case when (cast(null as tsvector) <= cast(null as tsvector)) 
            and (ref_0.narration >= cast(null as name)) then sample_1.month else sample_1.month end
           is not NULL
      limit 182) as subq_0
where 12 is not NULL
limit 59
;
-- backend 31861
select  
  subq_1.c0 as c0, 
  subq_1.c1 as c1, 
  subq_1.c0 as c2, 
  subq_1.c1 as c3, 
  subq_1.c2 as c4, 
  (select pg_catalog.min(annual_income) from public.loans_typed)
     as c5, 
  64 as c6
from 
  (select  
        100 as c0, 
        subq_0.c10 as c1, 
        subq_0.c8 as c2
      from 
        (select  
              ref_0.valid_from as c0, 
              sample_0.income_regularity as c1, 
              sample_0.months_observed as c2, 
              sample_0.months_observed as c3, 
              sample_0.avg_monthly_inflow as c4, 
              ref_0.employment_status as c5, 
              sample_0.avg_monthly_outflow as c6, 
              sample_0.avg_monthly_outflow as c7, 
              ref_0.source_line as c8, 
              ref_0.valid_to as c9, 
              ref_0.customer_id as c10, 
              sample_0.avg_monthly_outflow as c11
            from 
              dw.customer_risk_features as sample_0 tablesample bernoulli (7.1) 
                right join dw.dim_customer as ref_0
                on (sample_0.customer_id = ref_0.customer_id )
            where 7 is not NULL
            limit 111) as subq_0
      where EXISTS (
        select  
            subq_0.c7 as c0, 
            ref_1.line as c1, 
            ref_1.transaction_id as c2, 
            subq_0.c6 as c3, 
            (select pg_catalog.avg(source_line) from public.raw_loan_applications)
               as c4, 
            subq_0.c4 as c5, 
            subq_0.c3 as c6, 
            ref_1.transaction_date as c7
          from 
            public.statements_text as ref_1
          where subq_0.c4 is NULL
          limit 147)) as subq_1
where pg_catalog.clock_timestamp() is not NULL
limit 113
;
